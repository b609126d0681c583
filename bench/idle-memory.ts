/**
 * What each embedded component costs in resident memory at idle, opened one after the other
 * in one fresh process as the embedded server opens them: the GeoIP databases, PGlite (with
 * its migrations), chDB (with its migrations and a first insert) and the insert thread. `npm run bench:ingest`
 * reports the peak under load per phase; the difference is what load adds (the write-ahead
 * log's in-memory rows, insert buffers, the V8 heap of requests in flight).
 * Usage: node --expose-gc --import tsx bench/idle-memory.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const settle = async () => {
  global.gc?.();
  await new Promise((r) => setTimeout(r, 1500));
};
/** RSS added by PGlite's first start on `pgDir`, measured in a child process (which leaves the folder initialized). */
function firstPgliteStart(pgDir: string): number {
  const script = `
    const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
    // Three rounds: the initdb instance's WebAssembly memory is freed only by a later collection.
    const settle = async () => { for (let i = 0; i < 3; i++) { global.gc(); await new Promise((r) => setTimeout(r, 1000)); } };
    await settle();
    const before = mb();
    const { openMetadataDb } = await import('./server/store/postgres.ts');
    const meta = await openMetadataDb({ kind: 'pglite', dir: ${JSON.stringify(pgDir)} });
    await settle();
    console.log(mb() - before);
    await meta.close();`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return Number(out.trim().split('\n').at(-1));
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
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
  // The first start (initdb + migrations) runs in a child process of its own: done here, what
  // it leaves behind would be counted as the cost of every later start.
  const first = firstPgliteStart(path.join(dir, 'pg'));
  const { openMetadataDb } = await import('../server/store/postgres.ts');
  const meta = await openMetadataDb({ kind: 'pglite', dir: path.join(dir, 'pg') });
  await step('PGlite (as on every start after the first)');
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
  console.log(`PGlite's very first start (initdb + migrations), alone in a fresh process: +${first} MB`);
  await thread.close();
  await ch.close();
  await meta.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
