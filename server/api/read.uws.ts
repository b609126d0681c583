/**
 * The read API under `/api/v1`, for checking what was stored (dashboards come later and use
 * the same queries): event counts and the latest events of a project. Authenticated by a
 * `read` or `root` client of that project (`openpanel-client-id` + `openpanel-client-secret`).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import { AppError, zodIssues } from '../errors.ts';
import { type RequestSnapshot, handle, sendJson } from '../http/uws.ts';
import type { Authenticator } from '../ingest/auth.ts';
import type { Logger } from '../log.ts';
import { countEvents, listEvents } from '../stats/events.ts';

const IsoDate = z.iso.datetime({ offset: true }).or(z.iso.date()).transform((s) => new Date(s));

const CountQuery = z.object({ from: IsoDate.optional(), to: IsoDate.optional(), name: z.string().max(200).optional() });
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) });

export function registerReadApi(app: TemplatedApp, deps: { ch: ClickHouseClient; auth: Authenticator; log: Logger }) {
  const authed = async (req: RequestSnapshot) => {
    const projectId = req.params[0]!;
    await deps.auth.forRead({ clientId: req.headers['openpanel-client-id'], secret: req.headers['openpanel-client-secret'] }, projectId);
    return projectId;
  };

  app.get('/api/v1/projects/:projectId/events/count', handle(deps.log, async (res, req) => {
    const projectId = await authed(req);
    const q = parse(CountQuery, req.query);
    const count = await countEvents(deps.ch, { projectId, from: q.from, to: q.to, name: q.name });
    sendJson(res, 200, { count });
  }, { params: 1 }));

  app.get('/api/v1/projects/:projectId/events', handle(deps.log, async (res, req) => {
    const projectId = await authed(req);
    const q = parse(ListQuery, req.query);
    sendJson(res, 200, { data: await listEvents(deps.ch, { projectId, limit: q.limit }) });
  }, { params: 1 }));
}

function parse<T extends z.ZodType>(schema: T, query: string): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(new URLSearchParams(query)));
  if (!parsed.success) throw new AppError(400, 'invalid_body', 'Invalid query parameters', zodIssues(parsed.error));
  return parsed.data;
}
