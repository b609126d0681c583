/**
 * The quarantine (dead-letter table `quarantine`, db/clickhouse/006_quarantine.sql): rows
 * ClickHouse refused for their content, each with the error, so one bad row never blocks the
 * rows around it (the writer splits a refused insert until it has isolated the row, see
 * insert-split.ts). An operator lists them, replays them once the cause is fixed (a newer
 * Livepanel makes more values storable), or drops them: `npm run admin -- quarantine …`.
 *
 * An entry's id is derived from the insert token that isolated the row, so quarantining the
 * same row again after a crash (same token, deterministic splits) replaces the entry instead of
 * adding a second one; its insert carries a token of its own for the same reason.
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { chTime } from '../../shared/rows.ts';

/** Tables a quarantined row belongs to. */
export type QuarantineTable = 'events' | 'sessions' | 'profiles' | 'groups' | 'replays';

/** One quarantined row, as listed. */
export interface QuarantineEntry {
  id: string;
  quarantined_at: string;
  project_id: string;
  kind: QuarantineTable;
  /** The insert deduplication token that isolated the row. */
  token: string;
  error_code: string;
  error: string;
  /** The row as it was refused (JSON text; lone surrogates survive as `\ud800` escapes). */
  row: string;
}

const COLUMNS = ['id', 'quarantined_at', 'project_id', 'kind', 'token', 'error_code', 'error', 'row'] as const;
const MAX_ERROR_CHARS = 2000;

/** ClickHouse's numeric error code of `err` ('' when it has none: not a ClickHouse refusal). */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^\d+$/.test(code) ? code : '';
}

function entryId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}

export interface Quarantine {
  /** Stores one refused row with its error (exactly once per token). */
  put(table: QuarantineTable, row: Record<string, unknown>, token: string, err: unknown): Promise<void>;
  /** Entries, oldest first, optionally of one project. */
  list(opts?: { projectId?: string; limit?: number }): Promise<QuarantineEntry[]>;
  /** Entries held (for metrics and health). */
  count(): Promise<number>;
  /** Removes entries by id (all when `ids` is undefined); returns how many there were. */
  drop(ids?: string[]): Promise<number>;
}

export function createQuarantine(ch: ClickHouseClient): Quarantine {
  async function ids(where: string, params: Record<string, unknown>): Promise<string[]> {
    const rs = await ch.query({ query: `SELECT id FROM quarantine FINAL ${where}`, query_params: params, format: 'JSONEachRow' });
    return (await rs.json<{ id: string }>()).map((r) => r.id);
  }
  return {
    async put(table, row, token, err) {
      const message = err instanceof Error ? err.message : String(err);
      const entry: QuarantineEntry = {
        id: entryId(token),
        quarantined_at: chTime(Date.now()),
        project_id: typeof row.project_id === 'string' ? row.project_id.toWellFormed() : '',
        kind: table,
        token,
        error_code: errorCode(err),
        error: message.slice(0, MAX_ERROR_CHARS).toWellFormed(),
        // JSON.stringify escapes lone surrogates, so this text is always storable.
        row: JSON.stringify(row),
      };
      const settings = `SETTINGS insert_deduplication_token = '${entry.id}'`;
      await ch.insert({
        table: `quarantine (${COLUMNS.join(', ')}) ${settings}`,
        values: [COLUMNS.map((c) => entry[c])],
        format: 'JSONCompactEachRow',
      });
    },
    async list(opts = {}) {
      const limit = Math.max(1, Math.min(opts.limit ?? 100, 10_000));
      const rs = await ch.query({
        query: `SELECT ${COLUMNS.join(', ')} FROM quarantine FINAL
          ${opts.projectId !== undefined ? 'WHERE project_id = {p:String}' : ''}
          ORDER BY quarantined_at, id LIMIT {limit:UInt32}`,
        query_params: { p: opts.projectId ?? '', limit },
        format: 'JSONEachRow',
      });
      return rs.json<QuarantineEntry>();
    },
    async count() {
      const rs = await ch.query({ query: 'SELECT count() AS n FROM quarantine FINAL', format: 'JSONEachRow' });
      return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
    },
    async drop(only) {
      const found = only === undefined ? await ids('', {}) : await ids('WHERE id IN {ids:Array(String)}', { ids: only });
      if (found.length === 0) return 0;
      await ch.command({ query: 'DELETE FROM quarantine WHERE id IN {ids:Array(String)}', query_params: { ids: found } });
      return found.length;
    },
  };
}

/** What a replay did, per entry. */
export interface ReplayResult {
  replayed: string[];
  failed: Array<{ id: string; error_code: string; error: string }>;
}

/**
 * Inserts quarantined rows again, each on its own under a token derived from its entry (a
 * replay repeated after a crash is dropped by ClickHouse), removing the entries that are now
 * stored and keeping, with their new error, those still refused.
 */
export async function replayQuarantine(
  q: Quarantine,
  insertRows: (table: QuarantineTable, rows: readonly object[], token: string) => Promise<void>,
  entries: QuarantineEntry[],
): Promise<ReplayResult> {
  const out: ReplayResult = { replayed: [], failed: [] };
  for (const e of entries) {
    try {
      await insertRows(e.kind, [JSON.parse(e.row) as object], `quarantine-replay:${e.id}`);
      out.replayed.push(e.id);
    } catch (err) {
      out.failed.push({ id: e.id, error_code: errorCode(err), error: (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_CHARS) });
    }
  }
  if (out.replayed.length > 0) await q.drop(out.replayed);
  return out;
}
