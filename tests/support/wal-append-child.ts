/**
 * Test-only child process for the appender's kill test (server/engines/wal/appender.kill.test.ts):
 * a WAL queue whose applier never writes (the log keeps everything), with small segments and a
 * small zero-filled room so that kills land during group commits, zero fills and rotations.
 * Prints `ready` once open, then `ack <n>` for each durable push of event n; closed-loop
 * callers push one event each at a time, as /track requests do.
 * Env: LP_TEST_WAL_DIR, LP_TEST_BASE (first event number), LP_TEST_CONCURRENCY.
 */
import { createWalQueue } from '../../server/engines/queue.wal.ts';
import { makeEvent } from '../../server/store/clickhouse.fixtures.ts';
import { emptyBatch } from '../../shared/rows.ts';

const env = process.env;
const say = (line: string) => process.stdout.write(`${line}\n`); // synchronous on a Linux pipe
const queue = await createWalQueue({
  dir: env.LP_TEST_WAL_DIR!,
  writer: { write: () => new Promise(() => {}) },
  flushSize: 1e9,
  flushIntervalMs: 1e9,
  segmentBytes: 64 * 1024,
  preallocateBytes: 8 * 1024,
});
say('ready');
let next = Number(env.LP_TEST_BASE ?? 0);
const loop = async () => {
  for (;;) {
    const n = next++;
    const batch = emptyBatch();
    batch.events.push(makeEvent(n));
    await queue.push(batch);
    say(`ack ${n}`);
  }
};
await Promise.all(Array.from({ length: Number(env.LP_TEST_CONCURRENCY ?? 50) }, loop));
