// The events flush worker against the shared Redis (own prefix per test) and real chDB:
// poison payloads, failed inserts retried under the same token, and worker processes killed
// mid-write (children in tests/support/flush-worker-child.ts, each test its own chDB folder;
// this process never opens a child's folder).
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventsJobV2, JOB_NAMES, type JobPayload, QUEUES } from '../../shared/jobs.ts';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { createTestRedis, TEST_REDIS_URL, type TestRedis } from '../../tests/support/redis.ts';
import { createBullmqQueue, openEventsQueue } from '../engines/queue.bullmq.ts';
import type { ChunkWriter } from '../engines/queue.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { createEventsFlushWorker } from './events.flush.ts';

const DB = 'lptest';
const CHILD = path.resolve(import.meta.dirname, '../../tests/support/flush-worker-child.ts');
const dirs: string[] = [];
let ch: ClickHouseClient;
let t: TestRedis;
const closers: Array<() => Promise<unknown>> = [];
const children = new Map<ChildProcess, Promise<void>>(); // → exited

const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'lp-events-flush-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  ch = await createClickhouse({ kind: 'chdb', dir: tempDir(), database: DB });
  await migrateClickhouse(ch, DB);
});
afterAll(async () => {
  await ch?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(async () => {
  for (const [c, exited] of children) {
    c.kill('SIGKILL');
    await exited;
  }
  children.clear();
  for (const close of closers.splice(0).reverse()) await close();
  await t?.cleanup();
});

function eventsBatch(from: number, n: number, project: string): WriteBatch {
  const b = emptyBatch();
  for (let i = from; i < from + n; i++) b.events.push(makeEvent(i, { project_id: project }));
  return b;
}

async function countEvents(project: string) {
  const rs = await ch.query({
    query: 'SELECT count() AS rows, uniqExact(id) AS distinct FROM events WHERE project_id = {p:String}',
    query_params: { p: project },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ rows: string; distinct: string }>();
  return { rows: Number(r?.rows), distinct: Number(r?.distinct) };
}

/** Pushes `n` events in pushes of 10 through the ingest-side queue; returns the job count. */
async function pushEvents(n: number, project: string, maxJobRows: number, jobOptions = {}) {
  const queue = createBullmqQueue({ connection: t.client, prefix: t.prefix, maxJobRows, lingerMs: 5, jobOptions });
  await Promise.all(Array.from({ length: n / 10 }, (_, i) => queue.push(eventsBatch(i * 10, 10, project))));
  await queue.close();
}

async function waitFor(cond: () => Promise<boolean>, ms = 90_000, state?: () => Promise<unknown>) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out${state ? `: ${JSON.stringify(await state())}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('events flush worker', () => {
  it('quarantines the invalid rows of a payload, fails one with no batch at all, and writes the other jobs', async () => {
    t = await createTestRedis();
    const q = openEventsQueue(t.client, t.prefix);
    closers.push(() => q.close());
    const good = (i: number): JobPayload<'events'> => ({
      v: 1,
      batchId: `good-${i}`,
      node: 't',
      createdAt: Date.now(),
      rows: 5,
      batch: eventsBatch(i * 5, 5, 'p_poison'),
    });
    await q.add(JOB_NAMES[QUEUES.events], good(0), { jobId: 'good-0' });
    // A payload one row of which is not an EventRow (as an older or buggy producer might send):
    // that row is quarantined, its neighbour stored.
    const mixed = { v: 1, batchId: 'mixed', rows: 2, batch: { events: [{ id: 'nope' }, makeEvent(100, { project_id: 'p_poison' })] } };
    await q.add(JOB_NAMES[QUEUES.events], mixed as never, { jobId: 'mixed', attempts: 5 });
    // A payload with no batch to read at all: unrecoverable, kept in the failed set with the reason.
    await q.add(JOB_NAMES[QUEUES.events], { v: 1, batchId: 'bad', rows: 1 } as never, { jobId: 'bad', attempts: 5 });
    await q.add(JOB_NAMES[QUEUES.events], good(1), { jobId: 'good-1' });

    const writer = createWriter(ch);
    const flush = createEventsFlushWorker({ connection: await t.connect(), prefix: t.prefix, writer, quarantine: writer.quarantine, maxWaitMs: 100 });
    closers.push(() => flush.close());
    await waitFor(async () => (await q.getJobCountByTypes('completed', 'failed')) === 4);

    const bad = await q.getJob('bad');
    expect(await bad?.getState()).toBe('failed');
    expect(bad?.failedReason).toMatch(/invalid events payload/);
    expect(bad?.attemptsMade).toBe(1); // unrecoverable: no retries
    expect(await q.getJobCountByTypes('completed')).toBe(3);
    expect(await countEvents('p_poison')).toEqual({ rows: 11, distinct: 11 });
    const [entry, ...more] = await writer.quarantine.list({ projectId: '' });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ kind: 'events', token: 'job:mixed:events:0' });
    expect(JSON.parse(entry!.row)).toEqual({ id: 'nope' });
  });

  it('reads compact (version 2) payloads by their shape: a malformed event row is quarantined, its neighbours stored', async () => {
    t = await createTestRedis();
    const q = openEventsQueue(t.client, t.prefix);
    closers.push(() => q.close());
    const head = (batchId: string, rows: number) => ({ batchId, node: 't', createdAt: Date.now(), rows });
    await q.add(JOB_NAMES[QUEUES.events], eventsJobV2(head('v2-good', 4), eventsBatch(500, 4, 'p_v2')), { jobId: 'v2-good' });
    // One row cut short (as a buggy producer might queue it): the payload's shape is wrong, so it
    // is read row by row; that row goes to the quarantine, the other one is stored.
    const cut = eventsJobV2(head('v2-cut', 2), eventsBatch(600, 2, 'p_v2'));
    cut.events[0] = cut.events[0]!.slice(0, 5);
    await q.add(JOB_NAMES[QUEUES.events], cut, { jobId: 'v2-cut', attempts: 5 });
    // A version 1 job queued by an older ingest node still reads.
    await q.add(JOB_NAMES[QUEUES.events], { v: 1, ...head('v1-old', 3), batch: eventsBatch(700, 3, 'p_v2') }, { jobId: 'v1-old' });

    const writer = createWriter(ch);
    const flush = createEventsFlushWorker({ connection: await t.connect(), prefix: t.prefix, writer, quarantine: writer.quarantine, maxWaitMs: 100 });
    closers.push(() => flush.close());
    await waitFor(async () => (await q.getJobCountByTypes('completed', 'failed')) === 3);
    expect(await q.getJobCountByTypes('completed')).toBe(3);
    expect(await countEvents('p_v2')).toEqual({ rows: 8, distinct: 8 });
    const quarantined = await writer.quarantine.list({ projectId: 'p_v2' });
    expect(quarantined.map((e) => e.token)).toEqual(['job:v2-cut:events:0']);
  });

  it('stores a group around a row ClickHouse refuses: the row is quarantined, no job fails', async () => {
    t = await createTestRedis();
    await ch.command({ query: "ALTER TABLE events ADD CONSTRAINT no_poison CHECK name != 'poison'" });
    closers.push(() => ch.command({ query: 'ALTER TABLE events DROP CONSTRAINT no_poison' }));
    const queue = createBullmqQueue({ connection: t.client, prefix: t.prefix, maxJobRows: 100, lingerMs: 5 });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const b = eventsBatch(20_000 + i * 10, 10, 'p_refused');
        if (i === 7) b.events[3]!.name = 'poison';
        return queue.push(b);
      }),
    );
    await queue.close();
    const writer = createWriter(ch);
    const flush = createEventsFlushWorker({
      connection: await t.connect(),
      prefix: t.prefix,
      writer,
      quarantine: writer.quarantine,
      maxRows: 5000,
      maxWaitMs: 200,
    });
    closers.push(() => flush.close());
    const q = openEventsQueue(t.client, t.prefix);
    closers.push(() => q.close());
    const jobs = await q.getJobCountByTypes('waiting', 'active', 'delayed', 'completed');
    await waitFor(async () => (await q.getJobCountByTypes('completed')) === jobs);
    expect(await q.getJobCountByTypes('failed')).toBe(0);
    expect(await countEvents('p_refused')).toEqual({ rows: 299, distinct: 299 });
    const entries = await writer.quarantine.list({ projectId: 'p_refused' });
    expect(entries.map((e) => ({ kind: e.kind, code: e.error_code }))).toEqual([{ kind: 'events', code: '469' }]);
    expect(flush.health()).toMatchObject({ failingSince: null });
  });

  it('retries a group whose insert landed but reported failure, under the same token', async () => {
    t = await createTestRedis();
    const real = createWriter(ch);
    const tokens: string[] = [];
    let failuresLeft = 1;
    const flaky: ChunkWriter = {
      async writeChunk(chunk, token) {
        tokens.push(token);
        await real.writeChunk(chunk, token);
        // The bug this guards against: a group rebuilt differently (or under a new token) after
        // a lost reply is stored twice.
        if (failuresLeft-- > 0) throw new Error('reply lost');
      },
    };
    await pushEvents(2000, 'p_retry', 100, { backoff: { type: 'fixed', delay: 200 } });
    const flush = createEventsFlushWorker({ connection: await t.connect(), prefix: t.prefix, writer: flaky, maxRows: 5000, maxWaitMs: 200 });
    closers.push(() => flush.close());
    const q = openEventsQueue(t.client, t.prefix);
    closers.push(() => q.close());
    await waitFor(async () => (await q.getJobCountByTypes('completed')) === 20);

    expect(tokens.length).toBe(2);
    expect(tokens[1]).toBe(tokens[0]);
    expect(await countEvents('p_retry')).toEqual({ rows: 2000, distinct: 2000 });
  });

  function startChild(env: Record<string, string>) {
    const child = fork(CHILD, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, LP_TEST_REDIS_URL: TEST_REDIS_URL, LP_TEST_PREFIX: t.prefix, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    children.set(child, exited);
    const messages: Array<{ type: string; gid?: string; rebuilt?: boolean; rows?: number; distinct?: number }> = [];
    const waiters: Array<() => void> = [];
    child.on('message', (m: (typeof messages)[number]) => {
      messages.push(m);
      for (const w of waiters.splice(0)) w();
    });
    // A waiter still pending when the child exits is answered then, not at its deadline.
    child.once('exit', () =>
      setImmediate(() => {
        for (const w of waiters.splice(0)) w();
      }),
    );
    // Deadlines sized for a loaded machine (a child starts tsx and chDB first).
    const next = (type: string, nth = 1, timeoutMs = 180_000) =>
      new Promise<(typeof messages)[number]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} #${nth} from the child`)), timeoutMs);
        const check = () => {
          const hits = messages.filter((m) => m.type === type);
          if (hits.length >= nth) {
            clearTimeout(timer);
            return resolve(hits[nth - 1]!);
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            return reject(new Error(`child exited before ${type}`));
          }
          waiters.push(check);
        };
        check();
      });
    const kill = async () => {
      child.kill('SIGKILL');
      await exited;
      children.delete(child);
    };
    return { child, messages, next, kill, exited };
  }

  async function drainAndCount(env: Record<string, string>, jobs: number) {
    const last = startChild(env);
    await last.next('ready');
    const q = openEventsQueue(t.client, t.prefix);
    closers.push(() => q.close());
    await waitFor(
      async () => (await q.getJobCountByTypes('completed')) === jobs,
      90_000,
      () => q.getJobCounts(),
    );
    expect(await q.getJobCountByTypes('waiting', 'active', 'delayed', 'failed')).toBe(0);
    last.child.send({ type: 'count' });
    const count = await last.next('count');
    await last.exited;
    return { count, last };
  }

  it('stores every row exactly once when workers are killed after recording and after inserting', async () => {
    t = await createTestRedis();
    const chdbDir = tempDir();
    await pushEvents(3000, 'p_crash', 100);
    const env = { LP_TEST_CHDB_DIR: chdbDir, LP_TEST_MAX_ROWS: '1000', LP_TEST_MAX_WAIT_MS: '300' };

    const a = startChild({ ...env, LP_TEST_HANG: 'before-insert' });
    const recorded = await a.next('inserting');
    await a.kill();
    const b = startChild({ ...env, LP_TEST_HANG: 'after-insert' });
    const inserted = await b.next('inserted');
    await b.kill();
    const { count, last } = await drainAndCount(env, 30);

    expect(count).toMatchObject({ rows: 3000, distinct: 3000 });
    // The insert that landed without being confirmed was redone under its own token, and the
    // group recorded but never inserted was rebuilt from its jobs.
    const rebuilt = [...b.messages, ...last.messages].filter((m) => m.type === 'inserted' && m.rebuilt).map((m) => m.gid);
    expect(rebuilt).toContain(inserted.gid);
    expect(rebuilt).toContain(recorded.gid);
  }, 600_000);

  it('stores every row exactly once when workers are killed at random points while inserting', async () => {
    t = await createTestRedis();
    const chdbDir = tempDir();
    await pushEvents(6000, 'p_random', 100);
    const env = { LP_TEST_CHDB_DIR: chdbDir, LP_TEST_MAX_ROWS: '500', LP_TEST_MAX_WAIT_MS: '100' };
    const q = openEventsQueue(t.client, t.prefix);
    closers.push(() => q.close());
    // Nothing left to write: every job completed (a condition, where a fixed wait for the next
    // insert used to read "nothing left" into a child that was merely slow to start).
    const drained = async (round: { over: boolean }) => {
      while (!round.over && (await q.getJobCountByTypes('completed')) < 60) await new Promise((r) => setTimeout(r, 100));
      return null;
    };
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      const c = startChild(env);
      const nth = 1 + Math.floor(Math.random() * 3);
      const round = { over: false };
      const writing = await Promise.race([c.next('inserting', nth).catch(() => null), drained(round)]);
      round.over = true;
      if (writing) await new Promise((r) => setTimeout(r, Math.random() * 60)); // lands in the insert, usually
      await c.kill();
      if (!writing) break;
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const { count } = await drainAndCount(env, 60);
    expect(count).toMatchObject({ rows: 6000, distinct: 6000 });
  }, 600_000);
});
