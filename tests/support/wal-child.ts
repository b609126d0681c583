/**
 * Test-only child process for the WAL crash test: a WAL queue backed by real chDB, in the
 * folders given in its environment, so a test can SIGKILL it at any moment and start another
 * on the same folders (chDB's folder lock goes with the dead process). Line protocol on stdout:
 *   `ready`            the queue is open (recovery done, replay started)
 *   `ack <n>`          the push of event number n resolved (it is durable: the test may count on it)
 *   `writing <token>`  a chunk is handed to the writer
 *   `wrote <token>`    a chunk reached chDB (before its commit is recorded)
 *   `killing <token>`  (LP_TEST_KILL_DURING_WRITE=k) the k-th chunk is being inserted (by the
 *                      insert thread); the child SIGKILLs itself a few ms into that insert
 *   `landed <token>`   (LP_TEST_KILL_AFTER_WRITE=k) the k-th chunk reached chDB; the child then
 *                      SIGKILLs itself before recording the commit
 *   `count <json>`     (LP_TEST_MODE=count) after the replay: {rows, distinct, ids} of `events`
 * Env: LP_TEST_WAL_DIR, LP_TEST_CHDB_DIR, LP_TEST_MODE (push | count), LP_TEST_BASE (first
 * event number), LP_TEST_CONCURRENCY, LP_TEST_FLUSH_SIZE, LP_TEST_FLUSH_INTERVAL_MS,
 * LP_TEST_SEGMENT_BYTES, LP_TEST_KILL_AFTER_WRITE, LP_TEST_KILL_DURING_WRITE, LP_TEST_THREAD (1: the
 * chunks go to the insert thread, server/store/insert-thread.ts, as the server does).
 */

import { createWalQueue } from '../../server/engines/queue.wal.ts';
import { decodingWriter, type RecordWriter } from '../../server/engines/wal/record-writer.ts';
import { makeEvent } from '../../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../../server/store/clickhouse.ts';
import { startInsertThread } from '../../server/store/insert-thread.ts';
import { createWriter } from '../../server/store/writer.ts';
import { chTime, emptyBatch } from '../../shared/rows.ts';

const env = process.env;
const num = (v: string | undefined, def: number) => (v ? Number(v) : def);
const say = (line: string) => process.stdout.write(`${line}\n`); // synchronous on a Linux pipe

const database = 'lptest';
const ch = await createClickhouse({ kind: 'chdb', dir: env.LP_TEST_CHDB_DIR!, database });
await migrateClickhouse(ch, database);
const killAfter = num(env.LP_TEST_KILL_AFTER_WRITE, 0);
const killDuring = num(env.LP_TEST_KILL_DURING_WRITE, 0);
const inner: RecordWriter = env.LP_TEST_THREAD
  ? await startInsertThread({ clickhouse: { kind: 'chdb', dir: env.LP_TEST_CHDB_DIR!, database } })
  : decodingWriter(createWriter(ch));
const die = async () => {
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => {});
};
let writes = 0;
const writer: RecordWriter = {
  async write(records, token, opts) {
    const n = ++writes;
    say(`writing ${token}`);
    const done = inner.write(records, token, opts);
    if (n === killDuring) {
      // The thread is inserting now; die a moment into it (the main thread stays free).
      await new Promise((r) => setTimeout(r, 5));
      say(`killing ${token}`);
      await die();
    }
    await done;
    say(`wrote ${token}`);
    if (n === killAfter) {
      say(`landed ${token}`);
      await die();
    }
  },
  close: () => inner.close?.() ?? Promise.resolve(),
};

const queue = await createWalQueue({
  dir: env.LP_TEST_WAL_DIR!,
  writer: { records: writer },
  flushSize: num(env.LP_TEST_FLUSH_SIZE, 500),
  flushIntervalMs: num(env.LP_TEST_FLUSH_INTERVAL_MS, 100),
  segmentBytes: num(env.LP_TEST_SEGMENT_BYTES, 256 * 1024),
});
say('ready');

if (env.LP_TEST_MODE === 'count') {
  await queue.applied();
  await queue.close();
  const rs = await ch.query({ query: 'SELECT toString(id) AS id, count() AS n FROM events GROUP BY id', format: 'JSONEachRow' });
  const rows = await rs.json<{ id: string; n: string }>();
  const total = rows.reduce((s, r) => s + Number(r.n), 0);
  say(`count ${JSON.stringify({ rows: total, distinct: rows.length, ids: rows.map((r) => r.id) })}`);
  await ch.close();
} else {
  let next = num(env.LP_TEST_BASE, 0);
  const now = chTime(Date.now());
  const loop = async () => {
    for (;;) {
      const n = next++;
      const batch = emptyBatch();
      batch.events.push(makeEvent(n, { created_at: now, received_at: now }));
      await queue.push(batch);
      say(`ack ${n}`);
    }
  };
  await Promise.all(Array.from({ length: num(env.LP_TEST_CONCURRENCY, 32) }, loop));
}
