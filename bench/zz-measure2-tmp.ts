import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emptyBatch } from '../shared/rows.ts';
import { EventsJob } from '../shared/jobs.ts';
import { createClickhouse } from '../server/store/clickhouse.ts';
import { makeEvent } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createWriter } from '../server/store/writer.ts';
const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-measure-'));
const ch = await createClickhouse({ kind: 'chdb', dir, database: 'lpm' });
await migrateClickhouse(ch, 'lpm');
const writer = createWriter(ch);
for (let k = 0; k < 4; k++) {
  const b = emptyBatch(); for (let i = 0; i < 10000; i++) b.events.push(makeEvent(k * 10000 + i));
  const job = JSON.parse(JSON.stringify({ v: 1, batchId: 'x', node: 'n', createdAt: 1, rows: 10000, batch: b }));
  let t = performance.now(); EventsJob.parse(job); const z = performance.now() - t;
  t = performance.now(); await writer.write(b, `tok${k}`); const w = performance.now() - t;
  console.log({ zodMs: Math.round(z), writeMs: Math.round(w) });
}
await ch.close(); rmSync(dir, { recursive: true, force: true });
