/**
 * Test-only child process: runs one `events` flush worker against the Redis prefix and the
 * chDB folder given in its environment, so a test can SIGKILL it mid-write and start another
 * (chDB locks its folder per process; the lock goes with the process). Talks over IPC:
 *   → {type:'ready'} once the worker runs
 *   → {type:'inserting', gid, jobs, rebuilt} right before an insert (a new group is recorded
 *     by then), {type:'inserted', gid, rebuilt} after it; with LP_TEST_HANG=before-insert|
 *     after-insert it then hangs there (its locks stay renewed) until killed
 *   ← {type:'count'}: closes the worker and answers {type:'count', rows, distinct} (events
 *     table), then exits.
 * Env: LP_TEST_REDIS_URL, LP_TEST_PREFIX, LP_TEST_CHDB_DIR, LP_TEST_HANG, LP_TEST_MAX_ROWS,
 * LP_TEST_MAX_WAIT_MS.
 */
import { Redis } from 'ioredis';
import { migrateClickhouse } from '../../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../../server/store/clickhouse.ts';
import { createWriter } from '../../server/store/writer.ts';
import { createEventsFlushWorker } from '../../server/workers/events.flush.ts';

const env = process.env;
const send = (msg: object) => process.send?.(msg);
const hang = env.LP_TEST_HANG ?? '';
const forever = () => new Promise<void>(() => {});

const redis = new Redis(env.LP_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
const database = 'lptest';
const ch = await createClickhouse({ kind: 'chdb', dir: env.LP_TEST_CHDB_DIR!, database });
await migrateClickhouse(ch, database);

const flush = createEventsFlushWorker({
  connection: redis,
  prefix: env.LP_TEST_PREFIX!,
  writer: createWriter(ch),
  maxRows: Number(env.LP_TEST_MAX_ROWS ?? 1000),
  maxWaitMs: Number(env.LP_TEST_MAX_WAIT_MS ?? 200),
  concurrency: 500,
  // Fast recovery of a killed sibling's jobs; many kills per job are expected here.
  lockDurationMs: 2000,
  stalledIntervalMs: 500,
  maxStalledCount: 50,
  hooks: {
    async beforeInsert(gid, jobs, rebuilt) {
      send({ type: 'inserting', gid, jobs, rebuilt });
      if (hang === 'before-insert') await forever();
    },
    async afterInsert(gid, rebuilt) {
      send({ type: 'inserted', gid, rebuilt });
      if (hang === 'after-insert') await forever();
    },
  },
});

process.on('message', async (msg: { type?: string }) => {
  if (msg?.type !== 'count') return;
  await flush.close();
  const rs = await ch.query({ query: 'SELECT count() AS rows, uniqExact(id) AS distinct FROM events', format: 'JSONEachRow' });
  const [row] = await rs.json<{ rows: string; distinct: string }>();
  send({ type: 'count', rows: Number(row?.rows), distinct: Number(row?.distinct) });
  await ch.close();
  redis.disconnect();
  process.disconnect?.();
});

await flush.worker.waitUntilReady();
send({ type: 'ready' });
