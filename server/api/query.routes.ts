/**
 * The query API on the route layer: `POST /api/v1/query` (the query model as JSON → results),
 * the OpenAPI document at `GET /api/v1/openapi.json`, and
 * `GET /api/v1/projects/:projectId/export/events` streaming raw events as NDJSON or CSV. Thin:
 * the router authenticates and authorises (the query's project is read from its body, before
 * the query itself is looked at, so an outsider learns nothing about it), then a per-caller
 * budget, then the query engine or the exporter.
 *
 * Overview and board share links may query (aggregates only) their own project: their fixed
 * filter is added to every query, and an overview link asks only the overview's own numbers
 * (auth/share-scope.ts). The export streams: a pull-based body that reads the next page from
 * ClickHouse only when the previous one was taken by the socket, so memory holds one
 * byte-bounded page whatever the range.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { Query } from '../../shared/query.ts';
import type { EventRow } from '../../shared/rows.ts';
import { shareQueryProblem } from '../auth/share-scope.ts';
import type { RateLimiter } from '../engines/rate-limit.ts';
import { AppError, zodIssues } from '../errors.ts';
import { CSV_HEADER, csvLines, type ExportOptions, exportEvents, ndjsonLines } from '../stats/export.ts';
import type { QueryEngine } from '../stats/query-engine.ts';
import { openApiDocument } from './openapi.ts';
import { READ_ACCESS } from './read.routes.ts';
import type { RouteContext, Router } from './router.ts';

export interface QueryRouteDeps {
  ch: ClickHouseClient;
  queries: QueryEngine;
  /** Per-caller budget of queries (and exports); absent, unlimited. */
  queryLimiter?: RateLimiter;
  /** Page bounds of the export (tests make them small). */
  exportPages?: ExportOptions;
}

const Bound = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);
const ExportQuery = z.object({ from: Bound, to: Bound, name: z.string().min(1).max(200).optional() }).strict();

export function queryRoutes(r: Router, deps: QueryRouteDeps): void {
  let openapi: string | undefined; // built on first request, then reused

  /** Takes one query from the caller's budget (429 past it). */
  async function spend(ctx: RouteContext): Promise<void> {
    if (!deps.queryLimiter) return;
    const v = await deps.queryLimiter.consume(ctx.callerId);
    if (v.allowed) return;
    const err = new AppError(429, 'rate_limited', `Too many queries; retry in ${Math.ceil(v.retryAfterMs / 1000)} s`);
    err.retryAfterMs = v.retryAfterMs;
    throw err;
  }

  r.route(
    {
      method: 'POST',
      path: '/api/v1/query',
      // Aggregates only: users, read/root clients, and overview share links of the project (a board or realtime
      // link's page reads the live channel only: the query API would reach past what it names).
      access: { kind: 'project', level: 'read', principals: ['user', 'client', 'share'], shares: ['overview'] },
      summary: 'Run a query-model query (the project is the body’s project_id)',
      projectId: async (ctx) => {
        const projectId = ((await ctx.json()) as { project_id?: unknown } | null)?.project_id;
        if (typeof projectId !== 'string' || projectId.length === 0 || projectId.length > 64) {
          throw new AppError(400, 'invalid_query', 'project_id is required (a string of up to 64 characters)');
        }
        return projectId;
      },
    },
    async (ctx) => {
      await spend(ctx);
      const parsed = Query.safeParse(await ctx.json());
      if (!parsed.success) throw new AppError(400, 'invalid_query', 'The query does not match the query model', zodIssues(parsed.error));
      let query = parsed.data;
      const share = ctx.principal?.kind === 'share' ? ctx.principal : null;
      if (share) {
        const problem = shareQueryProblem(share, query);
        if (problem) throw new AppError(403, 'forbidden', problem);
        // The link's fixed filter is added to whatever the viewer asks: it cannot be removed.
        if (share.filter) query = { ...query, filters: [...(query.filters ?? []), ...share.filter] };
      }
      return ctx.c.json(await deps.queries.run(query));
    },
  );

  r.route({ method: 'GET', path: '/api/v1/openapi.json', access: { kind: 'public' }, summary: 'This API as an OpenAPI 3.1 document' }, async (ctx) => {
    openapi ??= JSON.stringify(openApiDocument());
    return ctx.c.body(openapi, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=3600' });
  });

  r.route(
    {
      method: 'GET',
      path: '/api/v1/projects/:projectId/export/events',
      access: READ_ACCESS,
      summary: 'Every event of a range as NDJSON, or CSV with `Accept: text/csv` (streamed)',
      readLimited: true,
    },
    async (ctx) => {
      await spend(ctx);
      const parsed = ExportQuery.safeParse(ctx.c.req.query());
      if (!parsed.success)
        throw new AppError(400, 'invalid_body', 'Export needs from and to (ISO dates or date-times) and an optional name', zodIssues(parsed.error));
      const from = toInstant(parsed.data.from, false);
      const to = toInstant(parsed.data.to, true);
      if (!(from < to)) throw new AppError(400, 'invalid_body', '`to` must be after `from`');
      const csv = /\btext\/csv\b/.test(ctx.c.req.header('accept') ?? '');
      const file = `events-${ctx.projectId}-${parsed.data.from}-${parsed.data.to}.${csv ? 'csv' : 'ndjson'}`.replace(/[^\w.-]/g, '_');
      const pages = exportEvents(deps.ch, { projectId: ctx.projectId, from, to, name: parsed.data.name }, deps.exportPages);
      return new Response(exportBody(pages, csv), {
        status: 200,
        headers: {
          'content-type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
          'content-disposition': `attachment; filename="${file}"`,
          'cache-control': 'no-store',
        },
      });
    },
  );
}

/**
 * The export's body: each pull reads one more page (a page is read only once the previous one
 * was taken: the HTTP bridge pulls when the socket drained), and a client that leaves returns
 * the generator, which stops reading. An error becomes a stream error: before the first byte a
 * 500, after it a cut connection (a truncated file, never a complete-looking wrong one).
 */
export function exportBody(pages: AsyncGenerator<EventRow[]>, csv: boolean): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let header = csv;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await pages.next();
        const text = (header ? CSV_HEADER : '') + (next.done ? '' : csv ? csvLines(next.value) : ndjsonLines(next.value));
        header = false;
        if (text) controller.enqueue(encoder.encode(text));
        if (next.done) controller.close();
      },
      async cancel() {
        await pages.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A date bound: a date means its UTC midnight (`to` dates include their whole day). */
function toInstant(s: string, end: boolean): number {
  if (s.length === 10) return Date.parse(`${s}T00:00:00Z`) + (end ? 86_400_000 : 0);
  return Date.parse(s);
}
