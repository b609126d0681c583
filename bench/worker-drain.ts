/**
 * The distributed worker alone: fills a BullMQ queue with `--events` event rows in jobs of
 * `--job-rows` (as ingest nodes queue them), then starts the `events` worker on a fresh chDB
 * folder and times how long it takes to store them all, with the process's CPU time over that
 * drain (chDB's threads included). No ingest node shares the machine with it, so its CPU per
 * 1,000 events is what the worker itself costs; compare settings alternately on a busy machine.
 *
 * Usage: tsx bench/worker-drain.ts [--events 200000] [--job-rows 250] [--max-rows 10000]
 *          [--concurrency 200] [--insert-concurrency 1] [--drop view,…|projection]
 * Needs the local Redis (REDIS_URL, default redis://127.0.0.1:6379); uses a key prefix of its own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createBullmqQueue } from '../server/engines/queue.bullmq.ts';
import { countEvents } from '../server/stats/events.ts';
import { makeEvent } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../server/store/clickhouse.ts';
import { createWriter } from '../server/store/writer.ts';
import { createEventsFlushWorker } from '../server/workers/events.flush.ts';
import { emptyBatch } from '../shared/rows.ts';
import { deletePrefix } from './baseline.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    'job-rows': { type: 'string', default: '250' },
    'max-rows': { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    'insert-concurrency': { type: 'string', default: '1' },
    drop: { type: 'string', default: '' },
  },
});
const EVENTS = Number(args.events);
const JOB_ROWS = Number(args['job-rows']);

const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-drain-'));
const prefix = `lpdrain:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const ch = await createClickhouse({ kind: 'chdb', dir, database: 'livepanel' });
try {
  await migrateClickhouse(ch, 'livepanel');
  for (const what of args.drop.split(',').filter(Boolean)) {
    if (what === 'projection') await ch.command({ query: 'ALTER TABLE events DROP PROJECTION IF EXISTS events_by_path' });
    else await ch.command({ query: `DROP VIEW IF EXISTS ${what}` });
  }
  const queue = createBullmqQueue({ connection: redis, prefix, maxJobRows: JOB_ROWS });
  const day = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  let next = 0;
  // One day of events over 50 paths, as bench:ingest sends them.
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < EVENTS) {
        const b = emptyBatch();
        for (let k = 0; k < 50 && next < EVENTS; k++) {
          const i = next++;
          b.events.push(makeEvent(i, { project_id: 'drain', id: randomUUID(), path: `/w/${i % 50}` }, day + (i % 80_000) * 1000 - i * 997));
        }
        await queue.push(b);
      }
    }),
  );
  await queue.close();
  const writer = createWriter(ch);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const worker = createEventsFlushWorker({
    connection: redis,
    prefix,
    writer,
    maxRows: Number(args['max-rows']),
    concurrency: Number(args.concurrency),
    insertConcurrency: Number(args['insert-concurrency']),
  });
  let stored = 0;
  while (stored < EVENTS && performance.now() - t0 < 600_000) {
    await new Promise((r) => setTimeout(r, 100));
    stored = await countEvents(ch, { projectId: 'drain' });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await worker.close();
  console.log(
    JSON.stringify({
      maxRows: Number(args['max-rows']),
      concurrency: Number(args.concurrency),
      insertConcurrency: Number(args['insert-concurrency']),
      drop: args.drop || undefined,
      events: EVENTS,
      stored,
      seconds: Math.round(seconds * 10) / 10,
      storedPerSecond: Math.round(stored / seconds),
      cpuMsPer1k: Math.round((cpu.user + cpu.system) / 1000 / (stored / 1000)),
      cores: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100) / 100,
    }),
  );
} finally {
  await deletePrefix(redis, prefix);
  redis.disconnect();
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
}
