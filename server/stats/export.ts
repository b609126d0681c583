/**
 * Raw event export without holding the result in memory: the range is cut into windows of
 * about `windowRows` events (sized from the hourly rollup's counts, so a quiet year is one
 * window and a busy hour is one window), and each window is read in pages ordered by
 * (created_at, id) with a keyset cursor. A page is bounded in rows (`pageRows`) and in bytes
 * (`pageBytes`, by ClickHouse's `byteSize` of each row): the next keys are read first with
 * their rows' sizes only, then the rows that fit (always at least one), so events carrying
 * large properties make short pages rather than a huge one. Memory stays at one page whatever
 * the range, in both shapes (chDB's client materialises each result, a ClickHouse server
 * streams it; paging bounds both). Windows cover the whole range contiguously, so every row is
 * read exactly once even where the rollup's counts were off.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { chTime, EventRow, parseChTime } from '../../shared/rows.ts';

const COLUMNS = Object.keys(EventRow.shape);
const HOUR = 3_600_000;

export interface ExportRange {
  projectId: string;
  /** Epoch ms, included. */
  from: number;
  /** Epoch ms, excluded. */
  to: number;
  /** Only events of this name. */
  name?: string;
}

export interface ExportOptions {
  /** Most rows in one page (5,000). */
  pageRows?: number;
  /** Most row bytes in one page (4 MiB), unless one row alone is larger. */
  pageBytes?: number;
  windowRows?: number;
}

/** The events of the range in time order, page by page. */
export async function* exportEvents(ch: ClickHouseClient, r: ExportRange, opts: ExportOptions = {}): AsyncGenerator<EventRow[]> {
  const pageRows = opts.pageRows ?? 5000;
  const pageBytes = opts.pageBytes ?? 4 * 1024 * 1024;
  for (const [a, b] of await windows(ch, r, opts.windowRows ?? 50_000)) {
    let after: { t: string; id: string } | undefined;
    for (;;) {
      const params: Record<string, unknown> = { p: r.projectId, a: chTime(a), b: chTime(b), n: pageRows };
      const where = ['project_id = {p:String}', "created_at >= {a:DateTime64(3, 'UTC')}", "created_at < {b:DateTime64(3, 'UTC')}"];
      if (r.name !== undefined) {
        where.push('name = {name:String}');
        params.name = r.name;
      }
      if (after) {
        where.push("(created_at, id) > ({t:DateTime64(3, 'UTC')}, {id:UUID})");
        Object.assign(params, after);
      }
      // The next keys and their rows' sizes (aliases unlike any column: ClickHouse would substitute them in WHERE); then the rows of as many as fit in the page's bytes.
      const keys = await (
        await ch.query({
          query: `SELECT toString(created_at) AS key_time, toString(id) AS key_id, byteSize(${COLUMNS.join(', ')}) AS row_bytes
            FROM events WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT {n:UInt32}
            SETTINGS output_format_json_quote_64bit_integers = 0`,
          query_params: params,
          format: 'JSONEachRow',
        })
      ).json<{ key_time: string; key_id: string; row_bytes: number }>();
      if (keys.length === 0) break;
      let take = 0;
      for (let bytes = 0; take < keys.length && (take === 0 || bytes + keys[take]!.row_bytes <= pageBytes); take++) bytes += keys[take]!.row_bytes;
      const last = keys[take - 1]!;
      const rs = await ch.query({
        query: `SELECT ${COLUMNS.join(', ')} FROM events
          WHERE ${where.join(' AND ')} AND (created_at, id) <= ({lt:DateTime64(3, 'UTC')}, {lid:UUID})
          ORDER BY created_at, id SETTINGS output_format_json_quote_64bit_integers = 0`,
        query_params: { ...params, lt: last.key_time, lid: last.key_id },
        format: 'JSONEachRow',
      });
      const page = await rs.json<EventRow>();
      if (page.length > 0) yield page;
      if (take === keys.length && keys.length < pageRows) break;
      after = { t: last.key_time, id: last.key_id };
    }
  }
}

/** Contiguous windows covering [from, to), each holding about `target` events by the hourly rollup. */
async function windows(ch: ClickHouseClient, r: ExportRange, target: number): Promise<Array<[number, number]>> {
  const rs = await ch.query({
    query: `SELECT toString(bucket) AS hour, countMerge(events) AS n FROM events_hourly
      WHERE project_id = {p:String} AND bucket >= toStartOfHour({a:DateTime64(3, 'UTC')}) AND bucket < {b:DateTime64(3, 'UTC')}
      ${r.name !== undefined ? 'AND name = {name:String}' : ''}
      GROUP BY bucket ORDER BY bucket SETTINGS output_format_json_quote_64bit_integers = 0`,
    query_params: { p: r.projectId, a: chTime(r.from), b: chTime(r.to), name: r.name },
    format: 'JSONEachRow',
  });
  const hours = await rs.json<{ hour: string; n: number }>();
  const out: Array<[number, number]> = [];
  let start = r.from;
  let inWindow = 0;
  for (const h of hours) {
    const t = parseChTime(`${h.hour}.000`);
    // Close the window before an hour that would overfill it.
    if (inWindow > 0 && inWindow + h.n > target && t > start) {
      out.push([start, t]);
      start = t;
      inWindow = 0;
    }
    inWindow += h.n;
    if (inWindow >= target) {
      const end = Math.min(t + HOUR, r.to);
      if (end > start) out.push([start, end]);
      start = end;
      inWindow = 0;
    }
  }
  if (start < r.to) out.push([start, r.to]);
  return out;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const CSV_HEADER = `${COLUMNS.join(',')}\r\n`;

/** A page of events as CSV lines (properties and groups as JSON text). */
export function csvLines(rows: EventRow[]): string {
  let out = '';
  for (const r of rows) out += `${COLUMNS.map((c) => csvField((r as Record<string, unknown>)[c])).join(',')}\r\n`;
  return out;
}

/** A page of events as NDJSON lines. */
export function ndjsonLines(rows: EventRow[]): string {
  let out = '';
  for (const r of rows) out += `${JSON.stringify(r)}\n`;
  return out;
}
