/**
 * CPU per stored row by insert size, merges included: inserts `total` event rows through the
 * writer (`writeChunk`, the rollup views attached) in inserts of `rows` rows, into a fresh
 * migrated folder, then waits for background merges to settle, and prints the process's CPU
 * (every thread: chDB's inserts and merges) per 1,000 rows. Building the rows is not counted.
 *
 * `--alter "ALTER TABLE …; …"` runs statements after migrating (a table setting tried before a migration).
 *
 * Usage: tsx bench/insert-size.ts --rows 10000 [--total 200000] [--settle-ms 20000] [--migrations DIR] [--alter SQL] [--parts]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { addRowsToChunk, type CompactChunk, emptyChunk } from '../server/engines/wal/batch-format.ts';
import { makeEvents } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../server/store/clickhouse.ts';
import { createWriter } from '../server/store/writer.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    total: { type: 'string', default: '200000' },
    'settle-ms': { type: 'string', default: '20000' },
    migrations: { type: 'string' },
    parts: { type: 'boolean', default: false },
    alter: { type: 'string', default: '' },
  },
});
const ROWS = Number(args.rows);
const TOTAL = Number(args.total);

const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-size-'));
const ch = await createClickhouse({ kind: 'chdb', dir, database: 'livepanel' });
try {
  await migrateClickhouse(ch, 'livepanel', args.migrations);
  for (const q of args.alter.split(';').filter((x) => x.trim())) await ch.command({ query: q });
  const writer = createWriter(ch);
  const chunkOf = (n: number): CompactChunk => {
    const chunk = emptyChunk();
    addRowsToChunk({ events: makeEvents(n).map((r) => ({ ...r, id: randomUUID() })), sessions: [], groups: [], replays: [], profiles: [] }, chunk);
    return chunk;
  };
  await writer.writeChunk(chunkOf(1000), `warm-${randomUUID()}`);
  let insertCpu = 0;
  let cpu = 0;
  const t0 = performance.now();
  for (let done = 0; done < TOTAL; done += ROWS) {
    const chunk = chunkOf(ROWS);
    const c = process.cpuUsage();
    await writer.writeChunk(chunk, `size-${randomUUID()}`);
    const d = process.cpuUsage(c);
    insertCpu += (d.user + d.system) / 1000;
    cpu += (d.user + d.system) / 1000;
  }
  const insertSeconds = (performance.now() - t0) / 1000;
  // Merges the inserts left behind: wait until none runs (or the settle time is up).
  const c = process.cpuUsage();
  const until = performance.now() + Number(args['settle-ms']);
  while (performance.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    const rs = (await (await ch.query({ query: 'SELECT count() AS n FROM system.merges', format: 'JSONEachRow' })).json()) as { n: string }[];
    if (Number(rs[0]!.n) === 0) break;
  }
  const d = process.cpuUsage(c);
  cpu += (d.user + d.system) / 1000;
  const parts = args.parts
    ? await (
        await ch.query({
          query:
            "SELECT table, part_type, count() AS parts, sum(rows) AS rows FROM system.parts WHERE database = 'livepanel' AND active GROUP BY table, part_type ORDER BY table",
          format: 'JSONEachRow',
        })
      ).json()
    : undefined;
  console.log(
    JSON.stringify({
      rows: ROWS,
      total: TOTAL,
      insertRowsPerSecond: Math.round(TOTAL / insertSeconds),
      insertCpuMsPer1k: Math.round((insertCpu / TOTAL) * 1000 * 10) / 10,
      cpuMsPer1kWithMerges: Math.round((cpu / TOTAL) * 1000 * 10) / 10,
      // The process's peak resident memory (VmHWM), rows built for the inserts included.
      peakRssMb: Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024),
      parts,
    }),
  );
} finally {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
}
