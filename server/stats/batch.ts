/**
 * Statements that wait together run together, for chDB. chDB runs one statement at a time per
 * process, and a rollup statement mostly keeps one core busy, so the overview's ten
 * statements used one of the machine's cores, one after the other. Here, while a statement
 * runs, the statements that arrive queue up; when it ends (or, when idle, once the current
 * turn of the event loop has issued its statements) the queue runs as ONE statement: a
 * UNION ALL whose branches ClickHouse executes side by side on `max_threads` cores, each row
 * tagged with its branch and carried as a JSONEachRow text (`formatRow`) so branches of
 * different shapes share two columns. Same answers, row order within a branch kept; measured
 * in README "bench:query". A ClickHouse server runs concurrent statements itself and needs none
 * of this (server/app.ts enables it for chDB only).
 *
 * A batch that fails runs its statements one by one, so each caller gets its own answer or
 * error. chDB (3.4) returns the rows a failed statement had produced before failing at the head
 * of the next statement's answer; the connection cleans them up after any failure
 * (server/store/clickhouse.ts), and the batch is sorted as a whole, so it produces nothing
 * before all its branches have succeeded.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export type Row = Record<string, unknown>;

export interface Statement {
  sql: string;
  params: Record<string, unknown>;
}

/** A statement's trailing SETTINGS clause (compile.ts ends every statement with one). */
const SETTINGS = /\nSETTINGS [^\n]*$/;

export function createStatementBatcher(ch: ClickHouseClient, opts: { maxBatch?: number } = {}) {
  const maxBatch = opts.maxBatch ?? 32;
  let queue: Array<{ s: Statement; resolve: (rows: Row[]) => void; reject: (err: unknown) => void }> = [];
  let busy = false;
  let scheduled = false;

  const single = async (s: Statement): Promise<Row[]> => (await ch.query({ query: s.sql, query_params: s.params, format: 'JSONEachRow' })).json<Row>();

  async function runBatch(batch: typeof queue): Promise<void> {
    const settings = batch[0]!.s.sql.match(SETTINGS)?.[0];
    const together = batch.length > 1 && settings !== undefined && batch.every((b) => b.s.sql.endsWith(settings));
    if (!together) {
      await Promise.all(batch.map((b) => single(b.s).then(b.resolve, b.reject)));
      return;
    }
    const params: Record<string, unknown> = {};
    const branches = batch.map((b, i) => {
      // Each statement's parameters renamed apart: {p3:String} → {b2_p3:String}.
      for (const [k, v] of Object.entries(b.s.params)) params[`b${i}_${k}`] = v;
      const body = b.s.sql.slice(0, -settings!.length).replace(/\{(\w+):/g, `{b${i}_$1:`);
      return `SELECT ${i} AS q, rowNumberInAllBlocks() AS n, formatRow('JSONEachRow', *) AS r FROM (\n${body}\n)`;
    });
    // Sorted as a whole, so nothing is sent before every branch has finished: chDB hands the rows
    // a failed statement had already produced to the next statement as part of its answer.
    const sql = `SELECT q, r FROM (\n${branches.join('\nUNION ALL\n')}\n) ORDER BY q, n${settings}`;
    let rows: Array<{ q: number; r: string }>;
    try {
      const rs = await ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
      rows = await rs.json<{ q: number; r: string }>();
    } catch {
      await Promise.all(batch.map((b) => single(b.s).then(b.resolve, b.reject)));
      return;
    }
    const out = batch.map((): Row[] => []);
    for (const { q, r } of rows) out[q]!.push(JSON.parse(r) as Row);
    batch.forEach((b, i) => {
      b.resolve(out[i]!);
    });
  }

  function drain(): void {
    scheduled = false;
    if (busy || queue.length === 0) return;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(maxBatch);
    busy = true;
    void runBatch(batch).finally(() => {
      busy = false;
      drain();
    });
  }

  return {
    /** Runs `s` with the statements waiting beside it; resolves to its own rows (JSONEachRow objects). */
    run(s: Statement): Promise<Row[]> {
      return new Promise<Row[]>((resolve, reject) => {
        queue.push({ s, resolve, reject });
        if (!busy && !scheduled) {
          scheduled = true;
          setImmediate(drain);
        }
      });
    },
  };
}
