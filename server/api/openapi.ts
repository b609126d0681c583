/**
 * The OpenAPI 3.1 document of the read API, served at `GET /api/v1/openapi.json`. Request and
 * response bodies are generated from the same zod schemas the server validates with
 * (`z.toJSONSchema` through a registry, so recursive filter trees become `$ref`s), so the
 * document cannot drift from what the server accepts. Paths and prose are written here.
 */
import { z } from 'zod';
import { ErrorBody } from '../../shared/errors.ts';
import { FilterTree, Query, QueryResponse } from '../../shared/query.ts';
import { EventRow, SessionRow } from '../../shared/rows.ts';
import { baseMetrics, type MetricDef } from '../stats/metrics.ts';

type Json = Record<string, unknown>;

function componentSchemas(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  registry.add(Query, { id: 'Query' });
  registry.add(QueryResponse, { id: 'QueryResponse' });
  registry.add(FilterTree, { id: 'FilterTree' });
  registry.add(ErrorBody, { id: 'Error' });
  registry.add(EventRow, { id: 'Event' });
  registry.add(SessionRow, { id: 'Session' });
  const out = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any', io: 'input' });
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(out.schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as Json;
    schemas[id] = rest;
  }
  return schemas;
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description: {
          400: 'Invalid request (`invalid_query`, `invalid_body`, `invalid_json`)',
          401: 'Missing or wrong credentials',
          403: 'The client may not read this project',
          404: 'Not found',
          429: 'Rate limited (`Retry-After` says when to retry)',
        }[c],
        content: json(ref('Error')),
      },
    ]),
  );
const projectParam = { name: 'projectId', in: 'path', required: true, schema: { type: 'string' } };
const q = (name: string, description: string, schema: Json = { type: 'string' }, required = false) => ({ name, in: 'query', required, description, schema });

function metricTable(defs: MetricDef[]): string {
  return defs.map((m) => `- \`${m.name}\`: ${m.description}`).join('\n');
}

export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Livepanel read API',
      version: '1',
      description: `Every number Livepanel shows comes from one query model (POST /api/v1/query). Authenticate with a read or root API client of the project (\`openpanel-client-id\` and \`openpanel-client-secret\` headers), or as a signed-in user of the project's organisation (the dashboard's session cookie, with the \`x-livepanel-csrf\` header on POST). \`POST /api/v1/query\` also takes an overview share link (\`x-livepanel-share\`, and \`x-livepanel-share-grant\` for a password-protected one): its fixed filter is added to every query, and an overview link answers the overview's metrics and dimensions only.\n\nMetrics:\n${metricTable(baseMetrics())}\n- \`sum:<key>\`, \`avg:<key>\`, \`min:<key>\`, \`max:<key>\`: an event property read as a number.`,
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        clientId: { type: 'apiKey', in: 'header', name: 'openpanel-client-id' },
        clientSecret: { type: 'apiKey', in: 'header', name: 'openpanel-client-secret' },
        session: { type: 'apiKey', in: 'cookie', name: 'lp_session' },
        share: { type: 'apiKey', in: 'header', name: 'x-livepanel-share' },
      },
    },
    security: [{ clientId: [], clientSecret: [] }, { session: [] }],
    paths: {
      '/api/v1/query': {
        post: {
          summary: 'Run a query-model query',
          security: [{ clientId: [], clientSecret: [] }, { session: [] }, { share: [] }],
          requestBody: { required: true, content: json(ref('Query')) },
          responses: { 200: { description: 'Results', content: json(ref('QueryResponse')) }, ...errors(400, 401, 403, 429) },
        },
      },
      '/api/v1/projects/{projectId}/export/events': {
        get: {
          summary: 'Stream raw events as NDJSON (default) or CSV (`Accept: text/csv`)',
          parameters: [
            projectParam,
            q('from', 'ISO date (UTC midnight) or date-time, included', { type: 'string' }, true),
            q('to', 'ISO date (its whole day included) or date-time, excluded', { type: 'string' }, true),
            q('name', 'Only events of this name'),
          ],
          responses: {
            200: {
              description: 'One event per line, oldest first',
              content: { 'application/x-ndjson': { schema: ref('Event') }, 'text/csv': { schema: { type: 'string' } } },
            },
            ...errors(400, 401, 403, 429),
          },
        },
      },
      '/api/v1/projects/{projectId}/events': {
        get: {
          summary: 'Latest events, newest first',
          parameters: [
            projectParam,
            q('limit', '1–1000 (default 50)', { type: 'integer' }),
            q('name', 'Only this event name'),
            q('profile_id', 'Only this profile'),
            q('session_id', 'Only this session'),
            q('before', 'Cursor: events before this stored time (the last row’s created_at)'),
          ],
          responses: {
            200: { description: 'Events', content: json({ type: 'object', properties: { data: { type: 'array', items: ref('Event') } } }) },
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/projects/{projectId}/events/count': {
        get: {
          summary: 'Number of events (optionally in [from, to) and of one name)',
          parameters: [
            projectParam,
            q('from', 'ISO date or date-time'),
            q('to', 'ISO date or date-time'),
            q('name', 'Event name'),
            q('distinct', '`id`: also count distinct event ids'),
          ],
          responses: {
            200: { description: 'Count', content: json({ type: 'object', properties: { count: { type: 'integer' }, distinct: { type: 'integer' } } }) },
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/projects/{projectId}/sessions': {
        get: {
          summary: 'Ended sessions, newest first',
          parameters: [
            projectParam,
            q('limit', '1–1000 (default 50)', { type: 'integer' }),
            q('profile_id', 'Only this profile'),
            q('before', 'Cursor: sessions started before this stored time'),
          ],
          responses: {
            200: { description: 'Sessions', content: json({ type: 'object', properties: { data: { type: 'array', items: ref('Session') } } }) },
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/projects/{projectId}/sessions/{sessionId}': {
        get: {
          summary: 'One session (null while still open) and its events, oldest first',
          parameters: [projectParam, { name: 'sessionId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: {
              description: 'Session and timeline',
              content: json({
                type: 'object',
                properties: {
                  data: {
                    type: 'object',
                    properties: { session: { anyOf: [ref('Session'), { type: 'null' }] }, events: { type: 'array', items: ref('Event') } },
                  },
                },
              }),
            },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/v1/projects/{projectId}/profiles': {
        get: {
          summary: 'Profiles, most recently updated first',
          parameters: [
            projectParam,
            q('search', 'Substring of the id, email or name (case-insensitive)'),
            q('limit', '1–1000', { type: 'integer' }),
            q('offset', 'Rows to skip', { type: 'integer' }),
          ],
          responses: {
            200: { description: 'Profiles', content: json({ type: 'object', properties: { data: { type: 'array', items: { type: 'object' } } } }) },
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/projects/{projectId}/profiles/{profileId}': {
        get: {
          summary: 'One profile with its properties',
          parameters: [projectParam, { name: 'profileId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'Profile', content: json({ type: 'object' }) }, ...errors(401, 403, 404) },
        },
      },
      '/api/v1/projects/{projectId}/groups/{groupId}': {
        get: {
          summary: 'One group with its properties',
          parameters: [projectParam, { name: 'groupId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'Group', content: json({ type: 'object' }) }, ...errors(401, 403, 404) },
        },
      },
      '/api/v1/projects/{projectId}/property-keys': {
        get: {
          summary: 'Event property keys in use, most used first',
          parameters: [
            projectParam,
            q('from', 'ISO date or date-time', { type: 'string' }, true),
            q('to', 'ISO date or date-time', { type: 'string' }, true),
            q('name', 'Only events of this name'),
          ],
          responses: {
            200: {
              description: 'Keys',
              content: json({
                type: 'object',
                properties: { data: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, events: { type: 'integer' } } } } },
              }),
            },
            ...errors(400, 401, 403),
          },
        },
      },
    },
  };
}
