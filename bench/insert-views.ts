/**
 * What the rollup views and the projection cost each insert into `events`, on chDB: inserts
 * of `rows` event rows (fresh ids, one day, as the distributed worker inserts them) through
 * Livepanel's writer into a fresh, migrated folder, after dropping what `--drop` names, with
 * extra insert settings from `--settings`. Prints the median wall and CPU milliseconds per
 * insert (CPU of the whole process, chDB's threads included: it holds up on a busy machine
 * where wall time does not). One variant per process; run variants alternately.
 *
 * `--parent DIR` makes the folder in DIR instead of the system's temporary folder (see
 * docs/benchmarks.md, "Where an insert's fixed cost goes": on this machine's ext4 the folder's
 * place changes the kernel's share); `--migrations DIR` migrates from another checkout's
 * db/clickhouse (a before/after of a schema change with the same script); `--stop-merges` leaves
 * background merges out of the CPU measured. The kernel's share of the CPU is printed apart.
 *
 * Usage: tsx bench/insert-views.ts --variant <name> [--drop views,…|projection] [--settings "a = 1, b = 0"] [--rows 10000] [--inserts 8]
 *        [--parent DIR] [--migrations DIR] [--stop-merges]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeEvent } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../server/store/clickhouse.ts';
import { storableRow } from '../server/store/storable.ts';
import { EventRow } from '../shared/rows.ts';

const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', default: 'as migrated' },
    drop: { type: 'string', default: '' },
    settings: { type: 'string', default: '' },
    rows: { type: 'string', default: '10000' },
    inserts: { type: 'string', default: '8' },
    parent: { type: 'string', default: os.tmpdir() },
    migrations: { type: 'string' },
    'stop-merges': { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const INSERTS = Number(args.inserts);
const COLUMNS = Object.keys(EventRow.shape);

const dir = mkdtempSync(path.join(args.parent, 'lp-bench-views-'));
const ch = await createClickhouse({ kind: 'chdb', dir, database: 'livepanel' });
try {
  await migrateClickhouse(ch, 'livepanel', args.migrations);
  if (args['stop-merges']) await ch.command({ query: 'SYSTEM STOP MERGES' });
  for (const what of args.drop.split(',').filter(Boolean)) {
    if (what === 'projection') await ch.command({ query: 'ALTER TABLE events DROP PROJECTION IF EXISTS events_by_path' });
    else await ch.command({ query: `DROP VIEW IF EXISTS ${what}` });
  }
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  let n = 0;
  // Rows of one day over 50 paths (as bench:ingest sends them), fresh ids per insert.
  const batch = () =>
    Array.from({ length: ROWS }, () => {
      const i = n++;
      return storableRow(makeEvent(i % 80_000, { id: randomUUID(), path: `/w/${i % 50}` }, today), COLUMNS);
    });
  const extra = args.settings ? `, ${args.settings}` : '';
  const insert = (values: unknown[][]) =>
    ch.insert({
      table: `events (${COLUMNS.join(', ')}) SETTINGS insert_deduplication_token = '${randomUUID()}', deduplicate_blocks_in_dependent_materialized_views = 1${extra}`,
      values,
      format: 'JSONCompactEachRow',
    });
  await insert(batch());
  // Wall time suffers from other work on the machine; the process's CPU time (every thread,
  // chDB's included) much less.
  const times: number[] = [];
  const cpus: number[] = [];
  const kernel: number[] = [];
  for (let k = 0; k < INSERTS; k++) {
    const values = batch();
    const t = performance.now();
    const c = process.cpuUsage();
    await insert(values);
    const d = process.cpuUsage(c);
    times.push(performance.now() - t);
    cpus.push((d.user + d.system) / 1000);
    kernel.push(d.system / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    JSON.stringify({
      variant: args.variant,
      rows: ROWS,
      medianMs: Math.round(median(times)),
      medianCpuMs: Math.round(median(cpus)),
      medianKernelMs: Math.round(median(kernel)),
      rowsPerSecond: Math.round((ROWS * 1000) / median(times)),
    }),
  );
} finally {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
}
