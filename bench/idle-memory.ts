/**
 * What each embedded component costs in resident memory at idle, opened one after the other
 * in one fresh process as the embedded server opens them: the GeoIP databases, PGlite (with
 * its migrations), chDB (with its migrations and a first insert) and the insert thread. `npm run bench:ingest`
 * reports the peak under load per phase; the difference is what load adds (the write-ahead
 * log's in-memory rows, insert buffers, the V8 heap of requests in flight).
 * Usage: node --expose-gc --import tsx bench/idle-memory.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const settle = async () => {
  global.gc?.();
  await new Promise((r) => setTimeout(r, 1500));
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-mem-'));
const rows: Array<{ component: string; rssMb: number; addsMb: number }> = [];
let last = mb();
const step = async (component: string) => {
  await settle();
  const now = mb();
  rows.push({ component, rssMb: now, addsMb: now - last });
  last = now;
};
try {
  await step('node + tsx');
  // Modules are imported step by step: loading libchdb alone maps a large native library.
  const { openGeoip } = await import('../server/ingest/geoip.ts');
  const geoip = await openGeoip({});
  geoip.lookup('81.2.69.142');
  await step('GeoIP, IPv4 (DB-IP city)');
  geoip.lookup('2a00:1450:4001:82b::200e');
  await step('GeoIP, IPv6 (read at the first IPv6 visitor)');
  const { openMetadataDb } = await import('../server/store/postgres.ts');
  let meta = await openMetadataDb({ kind: 'pglite', dir: path.join(dir, 'pg') });
  await step('PGlite, first start (initdb + migrations)');
  await meta.close();
  meta = await openMetadataDb({ kind: 'pglite', dir: path.join(dir, 'pg') });
  await step('PGlite, reopened (as on every later start)');
  const { createClickhouse } = await import('../server/store/clickhouse.ts');
  await step('libchdb loaded');
  const { migrateClickhouse } = await import('../server/store/clickhouse.migrate.ts');
  const { createWriter } = await import('../server/store/writer.ts');
  const { makeEvents } = await import('../server/store/clickhouse.fixtures.ts');
  const ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: 'livepanel' });
  await migrateClickhouse(ch, 'livepanel');
  await createWriter(ch).insertRows('events', makeEvents(1000), 'mem-1');
  await step('chDB session (migrated, first insert)');
  const { startInsertThread } = await import('../server/store/insert-thread.ts');
  const { encodeRecord } = await import('../server/engines/wal/record.ts');
  const { emptyBatch } = await import('../shared/rows.ts');
  const thread = await startInsertThread({ clickhouse: { kind: 'chdb', dir: path.join(dir, 'ch'), database: 'livepanel' } });
  await thread.write(encodeRecord({ ...emptyBatch(), events: makeEvents(1000) }, 1000), 'mem-2');
  await step('insert thread (its V8 isolate, chDB session, first insert)');
  console.table(rows);
  await thread.close();
  await ch.close();
  await meta.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
