/**
 * Which insert path through `@clickhouse/client` is fastest on chDB for a batch of EventRows.
 * Each path inserts the same rows (fresh dedup token per run, materialized views attached,
 * as in production) into a throwaway chDB folder; prints medians and writes
 * bench/results/clickhouse-insert.json. Usage: npx tsx bench/clickhouse-insert.ts [rows] [runs]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type ClickHouseClientConfigOptions, createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { makeEvents } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { EventRow } from '../shared/rows.ts';

const ROWS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 7);
const COLS = Object.keys(EventRow.shape) as (keyof EventRow & string)[];
const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-ch-'));
const conn = createChdbConnection({ path: dir });
const ch = createClient({ connection: conn as unknown as ClickHouseClientConfigOptions['connection'] });
await migrateClickhouse(ch, 'bench');
const rows = makeEvents(ROWS);
let seq = 0;
const settings = () => `SETTINGS insert_deduplication_token = 'bench-${seq++}', deduplicate_blocks_in_dependent_materialized_views = 1`;
const buf = (s: string) => Readable.from([Buffer.from(s)], { objectMode: false });

// TabSeparated encoder: regex-guarded escapes, the quickest of the JS variants tried, still
// about 2-4x the time of JSON.stringify for these rows. The writer does not use TSV.
const TSV_ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', "'": "\\'" };
const esc = (s: string) => (/[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => TSV_ESC[c]!) : s);
const quote = (s: string) => `'${/[\\'\t\n\r]/.test(s) ? s.replace(/[\\'\t\n\r]/g, (c) => TSV_ESC[c]!) : s}'`;
function tsvField(v: unknown): string {
  if (typeof v === 'string') return esc(v);
  if (typeof v === 'number') return String(v);
  if (v === null) return '\\N';
  if (Array.isArray(v)) return `[${v.map((x) => quote(String(x))).join(',')}]`;
  return `{${Object.entries(v as Record<string, string>)
    .map(([k, x]) => `${quote(k)}:${quote(x)}`)
    .join(',')}}`;
}
const toTsv = (rs: EventRow[], cols: (keyof EventRow)[]) => `${rs.map((r) => cols.map((c) => tsvField(r[c])).join('\t')).join('\n')}\n`;

type Path = { name: string; serialize?: () => unknown; run: () => Promise<unknown> };
const paths: Path[] = [
  {
    name: 'insert JSONEachRow, array of objects',
    serialize: () => rows.map((r) => JSON.stringify(r)).join('\n'),
    run: () => ch.insert({ table: `bench.events ${settings()}`, values: rows, format: 'JSONEachRow' }),
  },
  {
    name: 'insert JSONCompactEachRow, array of arrays',
    serialize: () => rows.map((r) => JSON.stringify(COLS.map((c) => r[c]))).join('\n'),
    run: () =>
      ch.insert({ table: `bench.events (${COLS.join(', ')}) ${settings()}`, values: rows.map((r) => COLS.map((c) => r[c])), format: 'JSONCompactEachRow' }),
  },
  {
    name: 'exec JSONEachRow, pre-serialized string',
    run: async () => {
      const body = rows.map((r) => JSON.stringify(r)).join('\n');
      const res = await ch.exec({ query: `INSERT INTO bench.events ${settings()} FORMAT JSONEachRow`, values: buf(body) });
      res.stream.destroy();
    },
  },
  {
    name: 'insert TabSeparated, pre-serialized stream',
    serialize: () => toTsv(rows, COLS),
    run: () => ch.insert({ table: `bench.events (${COLS.join(', ')}) ${settings()}`, values: buf(toTsv(rows, COLS)), format: 'TabSeparated' }),
  },
  {
    name: '(chDB only) connection.chdb.rawInsert TSV Buffer',
    run: () =>
      conn.chdb.rawInsert({
        table: 'bench.events',
        columns: COLS,
        format: 'TabSeparated',
        values: Buffer.from(toTsv(rows, COLS)),
        settings: { insert_deduplication_token: `bench-${seq++}`, deduplicate_blocks_in_dependent_materialized_views: 1 },
      }),
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;
const truncate = async () => {
  for (const t of ['events', 'events_hourly', 'events_daily']) await ch.command({ query: `TRUNCATE TABLE bench.${t}` });
};
// Round-robin with an emptied table before every timed insert, so background merges and
// table size weigh the same on every path.
const times = new Map<Path, number[]>(paths.map((p) => [p, []]));
for (const p of paths) await p.run(); // warm-up
for (let i = 0; i < RUNS; i++) {
  for (const p of i % 2 ? [...paths].reverse() : paths) {
    await truncate();
    const t0 = performance.now();
    await p.run();
    times.get(p)!.push(performance.now() - t0);
  }
}
const results = [];
for (const p of paths) {
  let serializeMs: number | undefined;
  if (p.serialize) {
    const ts: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      p.serialize();
      ts.push(performance.now() - t0);
    }
    serializeMs = round(median(ts));
  }
  const ms = median(times.get(p)!);
  const min = Math.min(...times.get(p)!);
  const r = { path: p.name, rows: ROWS, medianMs: round(ms), minMs: round(min), rowsPerSec: Math.round((ROWS / ms) * 1000), serializeMs };
  results.push(r);
  console.log(
    `${p.name.padEnd(50)} median ${r.medianMs.toFixed(1).padStart(7)} ms  min ${r.minMs.toFixed(1).padStart(7)} ms  ${String(r.rowsPerSec).padStart(6)} rows/s${serializeMs === undefined ? '' : `  (JS serialize ${serializeMs} ms)`}`,
  );
}
const check = await ch.query({ query: 'SELECT count() AS n FROM bench.events', format: 'JSONEachRow' });
console.log('rows stored by the last run:', (await check.json<{ n: string }>())[0]?.n, 'expected:', ROWS);
await ch.close();
rmSync(dir, { recursive: true, force: true });
const out = path.join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  path.join(out, 'clickhouse-insert.json'),
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), results }, null, 2)}\n`,
);
