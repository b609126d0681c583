/**
 * The query API: `POST /api/v1/query` (the query model as JSON → results), the OpenAPI
 * document at `GET /api/v1/openapi.json`, and `GET /api/v1/projects/:projectId/export/events`
 * streaming raw events as NDJSON or CSV. Thin: parse, authorise (read-auth.ts), rate-limit,
 * call the query engine or the exporter, answer.
 */

import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { Query } from '../../shared/query.ts';
import type { EventRow } from '../../shared/rows.ts';
import { shareQueryProblem } from '../auth/share-scope.ts';
import type { RateLimiter } from '../engines/rate-limit.ts';
import { AppError, zodIssues } from '../errors.ts';
import { handle, parseJson, type RequestSnapshot, readBody, sendJson } from '../http/uws.ts';
import { streamResponse } from '../http/uws-stream.ts';
import type { Logger } from '../log.ts';
import { CSV_HEADER, csvLines, exportEvents, ndjsonLines } from '../stats/export.ts';
import type { QueryEngine } from '../stats/query-engine.ts';
import { openApiDocument } from './openapi.ts';
import type { ReadAuthorizer, ReadPrincipal } from './read-auth.ts';

export interface QueryApiDeps {
  ch: ClickHouseClient;
  queries: QueryEngine;
  authorize: ReadAuthorizer;
  /** Who may run queries (default `authorize`); may also admit share links, whose fixed filter it returns. */
  authorizeQuery?: ReadAuthorizer;
  /** Per-principal budget of queries (and exports); absent, unlimited. */
  limiter?: RateLimiter;
  log: Logger;
  /** Largest query body (the model is small; default 64 KiB). */
  maxBodyBytes?: number;
}

const Bound = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);
const ExportQuery = z.object({ from: Bound, to: Bound, name: z.string().min(1).max(200).optional() }).strict();

export function registerQueryApi(app: TemplatedApp, deps: QueryApiDeps) {
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  let openapi: string | undefined; // built on first request, then reused

  /** Authorises and takes one query from the caller's budget; false when it answered 429. */
  async function allow(res: HttpResponse, req: RequestSnapshot, projectId: string, authorize = deps.authorize): Promise<ReadPrincipal | false> {
    const who = await authorize(req, projectId);
    if (!deps.limiter) return who;
    const r = await deps.limiter.consume(who.id);
    if (r.allowed) return who;
    const seconds = Math.ceil(r.retryAfterMs / 1000);
    sendJson(res, 429, new AppError(429, 'rate_limited', `Too many queries; retry in ${seconds} s`).toBody(), { 'retry-after': String(seconds) });
    return false;
  }

  app.post(
    '/api/v1/query',
    handle(deps.log, async (res, req) => {
      const body = parseJson(await readBody(res, maxBody, req.headers['content-length']));
      // Authorise before explaining what is wrong with the query: an outsider learns nothing.
      const projectId = (body as { project_id?: unknown } | null)?.project_id;
      if (typeof projectId !== 'string' || projectId.length === 0 || projectId.length > 64) {
        throw new AppError(400, 'invalid_query', 'project_id is required (a string of up to 64 characters)');
      }
      const who = await allow(res, req, projectId, deps.authorizeQuery);
      if (!who) return;
      const parsed = Query.safeParse(body);
      if (!parsed.success) throw new AppError(400, 'invalid_query', 'The query does not match the query model', zodIssues(parsed.error));
      const problem = who.share && shareQueryProblem(who.share, parsed.data);
      if (problem) throw new AppError(403, 'forbidden', problem);
      // A share link's fixed filter is added to whatever the viewer asks: it cannot be removed.
      const query = who.filters ? { ...parsed.data, filters: [...(parsed.data.filters ?? []), ...who.filters] } : parsed.data;
      sendJson(res, 200, await deps.queries.run(query));
    }),
  );

  app.get('/api/v1/openapi.json', (res) => {
    openapi ??= JSON.stringify(openApiDocument());
    sendJson(res, 200, JSON.parse(openapi), { 'cache-control': 'public, max-age=3600' });
  });

  app.get(
    '/api/v1/projects/:projectId/export/events',
    handle(
      deps.log,
      async (res, snap) => {
        const projectId = decodeParam(snap.params[0]!);
        if (!(await allow(res, snap, projectId))) return;
        const parsed = ExportQuery.safeParse(Object.fromEntries(new URLSearchParams(snap.query)));
        if (!parsed.success)
          throw new AppError(400, 'invalid_body', 'Export needs from and to (ISO dates or date-times) and an optional name', zodIssues(parsed.error));
        const from = toInstant(parsed.data.from, false);
        const to = toInstant(parsed.data.to, true);
        if (!(from < to)) throw new AppError(400, 'invalid_body', '`to` must be after `from`');
        const csv = /\btext\/csv\b/.test(snap.headers.accept ?? '');
        const pages = exportEvents(deps.ch, { projectId, from, to, name: parsed.data.name });
        const file = `events-${projectId}-${parsed.data.from}-${parsed.data.to}.${csv ? 'csv' : 'ndjson'}`.replace(/[^\w.-]/g, '_');
        const headers = {
          'content-type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
          'content-disposition': `attachment; filename="${file}"`,
          'cache-control': 'no-store',
        };
        await streamResponse(res, 200, headers, chunks(pages, csv), deps.log);
      },
      { params: 1 },
    ),
  );
}

async function* chunks(pages: AsyncGenerator<EventRow[]>, csv: boolean): AsyncGenerator<string> {
  if (csv) yield CSV_HEADER;
  for await (const page of pages) yield csv ? csvLines(page) : ndjsonLines(page);
}

/** A date bound: a date means its UTC midnight (`to` dates include their whole day). */
function toInstant(s: string, end: boolean): number {
  if (s.length === 10) return Date.parse(`${s}T00:00:00Z`) + (end ? 86_400_000 : 0);
  return Date.parse(s);
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AppError(400, 'invalid_body', 'Malformed percent-escape in the path');
  }
}
