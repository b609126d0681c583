/**
 * The `events` worker: takes the batches ingest nodes queued on BullMQ and writes them to
 * ClickHouse in large inserts, exactly once across worker crashes and retries.
 *
 * Gathering: a BullMQ Worker with a high `concurrency` holds many jobs active at once; its
 * processor does not insert, it adds the job's rows to an open group and waits. A group closes
 * at `maxRows` rows, or `maxWaitMs` after its first job (later if every insert slot is busy:
 * it keeps filling meanwhile); closed groups are inserted `insertConcurrency` at a time, and
 * each job's processor call resolves (BullMQ then completes the job) only after the insert
 * holding it succeeded. The processor (not a `getNextJob` loop) keeps BullMQ's lock renewal,
 * stalled-job recovery, retries with backoff and graceful close for free.
 *
 * Exactly once: before inserting, a group is recorded in Redis in one atomic Lua script (not
 * MULTI: the writes must be conditional on no member having a group already) —
 *   P flush:group:<gid>      hash {jobs: ordered job ids, rows, written: 0|1}, TTL a day
 *   P flush:jobgroup:<jobId> → gid, TTL a day (set only if the job has no group yet)
 * then inserted with deduplication token = gid, then marked written, then its jobs complete.
 * A job that comes back (stalled after a crash, or retried after a failed insert) and already
 * has a group is never regrouped: the worker rebuilds exactly that group — same jobs, same
 * order, read back with `Job.fromId` — and inserts it again under the same token, which
 * ClickHouse drops if the first insert had landed. Rebuilding needs every member's data: jobs
 * are completed only after their group is marked written (so a completed member never needs
 * rebuilding), and failed jobs are kept by age (EVENTS_JOB_OPTIONS), so member data outlives
 * any unconfirmed group. If a member is gone anyway, the group is NOT re-inserted partially
 * under its token (that would hide the missing rows forever); the job fails with the reason.
 * Limits: ClickHouse remembers the last 1000 tokens per table
 * (`non_replicated_deduplication_window`), and records live a day (`groupTtlSeconds`).
 *
 * One row never blocks a group: the writer splits an insert ClickHouse refuses for its content
 * and quarantines the refused rows (server/store/insert-split.ts); the splits are recorded
 * beside the group (`P flush:group:<gid>:splits`, a set) so a rebuilt group splits the same
 * way. Any other failure (ClickHouse down) is retried here with backoff, holding the jobs,
 * rather than failing them: after BullMQ's attempts a failed job would be an acknowledged
 * batch nobody stores. Jobs are read by events.job.ts: version 3 payloads are already the
 * insert's JSONCompactEachRow lines (passed on as they are, naming their columns); an older
 * payload that does not validate is read row by row (salvage.ts): its valid rows are stored,
 * the invalid ones quarantined; a payload with nothing to read fails.
 *
 * Metrics: `queueDepth` = jobs waiting, delayed or active in Redis (sampled every second) and
 * `flushFailures`; rows and seconds per insert are recorded by the writer
 * (`createWriter(ch, metrics)`), so they are not observed twice here.
 */
import { randomUUID } from 'node:crypto';
import { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobName, type JobPayload, QUEUES } from '../../shared/jobs.ts';
import { bullmqPrefix, openEventsQueue } from '../engines/queue.bullmq.ts';
import type { ChunkWriter } from '../engines/queue.ts';
import { defineScript } from '../engines/redis-script.ts';
import { type CompactChunk, emptyChunk, mergeChunk } from '../engines/wal/batch-format.ts';
import type { ColumnLists } from '../engines/wal/column-lists.ts';
import type { StorageHealth } from '../health.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SplitMemo } from '../store/insert-split.ts';
import type { Quarantine } from '../store/quarantine.ts';
import { readJobChunk } from './events.job.ts';

/** Test-only seams around each insert, where a crash matters most. */
export interface FlushHooks {
  /** Right before an insert: after a new group was recorded in Redis, or a recorded one rebuilt. */
  beforeInsert?(gid: string, jobIds: string[], rebuilt: boolean): Promise<void> | void;
  /** After an insert succeeded, before its group is marked written and its jobs complete. */
  afterInsert?(gid: string, rebuilt: boolean): Promise<void> | void;
}

export interface EventsFlushWorkerOptions {
  /** Used for the group records and as the template of BullMQ's own two connections; stays open. */
  connection: Redis;
  /** Livepanel key prefix, the same the ingest nodes' queue uses. */
  prefix: string;
  writer: ChunkWriter;
  /**
   * Rows at which a group is inserted at once (default 20,000, as WORKER_FLUSH_SIZE). Every
   * insert also writes a part into each rollup table the views feed (and the projection), a
   * fixed cost of the insert: on chDB about 150 ms of CPU plus 21 µs per row, so larger groups
   * cost less per row (bench/insert-views.ts, bench/worker-drain.ts). A group reaches this size
   * only when more than `maxRows` rows arrive per `maxWaitMs` (or while an insert runs); below
   * that the wait closes it, which is why alternated whole-shape runs at 1–6k events/s showed
   * no difference between 10,000 and 40,000 (docs/benchmarks.md).
   */
  maxRows?: number;
  /** How long a group's first job waits for company. */
  maxWaitMs?: number;
  /**
   * Jobs held active (and in memory) at once (default 200); should exceed the jobs of about two
   * groups (one inserting, one filling): ingest nodes close a job after 20 ms, so two nodes
   * taking 20,000 events/s between them make 200-row jobs, 100 to a 20,000-row group (below
   * 20,000 events/s a group closes on its wait before it is full).
   */
  concurrency?: number;
  /** Inserts running at once (default 1). */
  insertConcurrency?: number;
  /** BullMQ lock duration: a crashed worker's jobs are retried this long (plus a stalled check) after. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Crashes a job may live through before BullMQ fails it (kept in the failed set). */
  maxStalledCount?: number;
  groupTtlSeconds?: number;
  /** Where rows of payloads that do not validate go (the writer's quarantine); without it such a job fails. */
  quarantine?: Quarantine;
  /** First delay between retries of a failing insert (doubles up to 5 s). Default 200 ms. */
  retryBaseMs?: number;
  metrics?: Metrics;
  log?: Logger;
  hooks?: FlushHooks;
  /** The column lists jobs are read with (default: this version's; tests inject another version's). */
  columns?: ColumnLists;
}

export interface EventsFlushWorker {
  readonly worker: Worker<JobPayload<'events'>, void, JobName<'events'>>;
  /** Queue depth and lag (sampled every second) and whether inserts are failing (for /healthz, /readyz). */
  health(): StorageHealth;
  /** Inserts the open group, waits for every insert in flight, closes the worker. */
  close(): Promise<void>;
}

// Records a group unless one of its jobs already belongs to a group; then records nothing
// and returns those jobs' positions. A Lua script, not MULTI: the writes are conditional.
const recordGroup = defineScript(`
local conflicts = {}
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then conflicts[#conflicts + 1] = i - 2 end
end
if #conflicts > 0 then return conflicts end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', ARGV[2]) end
redis.call('HSET', KEYS[1], 'jobs', ARGV[3], 'rows', ARGV[4], 'written', '0')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return conflicts
`);

interface Member {
  jobId: string;
  chunk: CompactChunk;
  rows: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface OpenGroup {
  members: Member[];
  rows: number;
  timer: NodeJS.Timeout;
  /** maxWaitMs has passed; closes as soon as an insert slot is free. */
  due: boolean;
}

/** Starts the `events` worker; see the module comment. */
export function createEventsFlushWorker(opts: EventsFlushWorkerOptions): EventsFlushWorker {
  const { connection: redis, writer, log, metrics, hooks } = opts;
  const maxRows = opts.maxRows ?? 20_000;
  const maxWaitMs = opts.maxWaitMs ?? 1000;
  const ttl = opts.groupTtlSeconds ?? 24 * 3600;
  const insertConcurrency = opts.insertConcurrency ?? 1;
  const groupKey = (gid: string) => `${opts.prefix}flush:group:${gid}`;
  const jobGroupKey = (jobId: string) => `${opts.prefix}flush:jobgroup:${jobId}`;
  const queue = openEventsQueue(redis, opts.prefix);
  queue.on('error', (err) => log?.error({ err }, 'events worker: redis error'));

  const retryBaseMs = opts.retryBaseMs ?? 200;
  let open: OpenGroup | null = null;
  let closing = false;
  const health: StorageHealth = { pendingRows: 0, lagMs: 0, failingSince: null, lastError: null };

  /** The group's recorded splits (see the module comment). */
  async function splitMemo(gid: string): Promise<SplitMemo> {
    const key = `${groupKey(gid)}:splits`;
    const set = new Set(await redis.smembers(key));
    return {
      has: (t) => set.has(t),
      async add(t) {
        set.add(t);
        await redis.multi().sadd(key, t).expire(key, ttl).exec();
      },
      tokens: () => [...set],
    };
  }

  /**
   * Writes a group under its token until it is stored, retrying with backoff; rejects only
   * when the worker is closing (its jobs are then retried by BullMQ, the group rebuilt).
   */
  async function writeGroup(chunk: CompactChunk, gid: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await writer.writeChunk(chunk, gid, { splits: await splitMemo(gid) });
        health.failingSince = null;
        health.lastError = null;
        return;
      } catch (err) {
        health.failingSince ??= Date.now();
        health.lastError = err instanceof Error ? err.message : String(err);
        metrics?.flushFailures.inc();
        log?.error({ err, gid, attempt }, 'events worker: insert failed; retrying');
        if (closing) throw err;
        await new Promise((r) => setTimeout(r, Math.min(retryBaseMs * 2 ** attempt, 5000)));
      }
    }
  }
  const lane = new Set<Promise<unknown>>(); // inserts running or waiting for a slot
  const slots: Array<() => void> = [];
  let running = 0;
  const rebuilding = new Map<string, Promise<void>>();

  /**
   * Runs at most `insertConcurrency` inserts at once (new groups and rebuilds alike). While
   * every slot is busy, a due open group keeps gathering rows (up to maxRows), so slow
   * inserts make bigger ones.
   */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = (async () => {
      if (running >= insertConcurrency) await new Promise<void>((r) => slots.push(r));
      running++;
      try {
        return await fn();
      } finally {
        running--;
        slots.shift()?.();
      }
    })();
    lane.add(run);
    void run
      .catch(() => {})
      .finally(() => {
        lane.delete(run);
        if (lane.size < insertConcurrency && open?.due) closeOpen();
      });
    return run;
  }

  function onTimer(): void {
    if (!open) return;
    if (lane.size < insertConcurrency || closing) closeOpen();
    else open.due = true;
  }

  function add(m: Member): void {
    if (open && open.rows + m.rows > maxRows) closeOpen();
    if (!open) open = { members: [], rows: 0, timer: setTimeout(onTimer, maxWaitMs), due: false };
    open.members.push(m);
    open.rows += m.rows;
    if (open.rows >= maxRows || closing) closeOpen();
  }

  function closeOpen(): void {
    const g = open;
    if (!g) return;
    open = null;
    clearTimeout(g.timer);
    void serial(() => flushGroup(g.members));
  }

  async function markWritten(gid: string): Promise<void> {
    await redis.multi().hset(groupKey(gid), 'written', '1').expire(groupKey(gid), ttl).exec();
  }

  /** Records, inserts and confirms one new group; settles every member. Never rejects. */
  async function flushGroup(members: Member[]): Promise<void> {
    const gid = randomUUID();
    try {
      for (;;) {
        const ids = members.map((m) => m.jobId);
        const keys = [groupKey(gid), ...ids.map(jobGroupKey)];
        const rows = members.reduce((n, m) => n + m.rows, 0);
        const conflicts = (await recordGroup(redis, keys, [gid, ttl, ids.join(','), rows])) as number[];
        if (conflicts.length === 0) break;
        // Grouped meanwhile by another worker (this one lost their locks): finish them as such.
        const taken = new Set(conflicts.map((i) => members[i]!));
        log?.warn({ jobs: [...taken].map((m) => m.jobId) }, 'events worker: jobs already grouped elsewhere');
        for (const m of taken) void completeGrouped(m.jobId).then(m.resolve, m.reject);
        members = members.filter((m) => !taken.has(m));
        if (members.length === 0) return;
      }
      await hooks?.beforeInsert?.(
        gid,
        members.map((m) => m.jobId),
        false,
      );
      const chunk = emptyChunk();
      for (const m of members) mergeChunk(chunk, m.chunk);
      await writeGroup(chunk, gid);
      await hooks?.afterInsert?.(gid, false);
      await markWritten(gid);
      for (const m of members) m.resolve();
    } catch (err) {
      log?.error({ err, gid, jobs: members.length }, 'events worker: group not stored; jobs will retry');
      for (const m of members) m.reject(err);
    }
  }

  /** Settles a job that already belongs to a group: rebuild it exactly, unless written. */
  async function completeGrouped(jobId: string, gid?: string): Promise<void> {
    const id = gid ?? (await redis.get(jobGroupKey(jobId)));
    if (!id) throw new Error(`job ${jobId} lost its group record`);
    let p = rebuilding.get(id);
    if (!p) {
      p = serial(() => rebuild(id)).finally(() => rebuilding.delete(id));
      rebuilding.set(id, p);
    }
    return p;
  }

  async function rebuild(gid: string): Promise<void> {
    const rec = await redis.hgetall(groupKey(gid));
    if (rec.written === '1') return;
    if (!rec.jobs) throw new Error(`group ${gid}: record is gone`);
    const ids = rec.jobs.split(',');
    const jobs: Array<Job | undefined> = [];
    for (let i = 0; i < ids.length; i += 500) {
      jobs.push(...(await Promise.all(ids.slice(i, i + 500).map((id) => Job.fromId(queue, id)))));
    }
    const chunk = emptyChunk();
    ids.forEach((id, i) => {
      // Read exactly as processJob read it (a salvaged payload the same way, its invalid rows
      // already quarantined then). Never insert part of a group under its token: the missing
      // rows could never follow.
      const data = jobs[i]?.data;
      if (!data) throw new Error(`group ${gid}: job ${id} is gone; not re-inserting a partial group`);
      try {
        mergeChunk(chunk, readJobChunk(data, !!opts.quarantine, opts.columns).chunk);
      } catch (err) {
        throw new Error(`group ${gid}: job ${id} cannot be read (${(err as Error).message}); not re-inserting a partial group`);
      }
    });
    log?.info({ gid, jobs: ids.length }, 'events worker: re-inserting a recorded group');
    await hooks?.beforeInsert?.(gid, ids, true);
    await writeGroup(chunk, gid);
    await hooks?.afterInsert?.(gid, true);
    await markWritten(gid);
  }

  async function processJob(job: Job<JobPayload<'events'>, void, JobName<'events'>>): Promise<void> {
    const jobId = job.id!;
    // Any payload version (events.job.ts); throws for one with nothing to read.
    const read = readJobChunk(job.data, !!opts.quarantine, opts.columns);
    if (read.invalid.length > 0) {
      // Quarantined before the rest is grouped, under tokens of their own (a retry replaces them).
      for (const bad of read.invalid) {
        await opts.quarantine!.put(bad.table, bad.row as Record<string, unknown>, `job:${jobId}:${bad.table}:${bad.index}`, bad.error);
        metrics?.quarantinedRows.inc({ table: bad.table });
      }
      log?.warn({ jobId, invalid: read.invalid.length, kept: read.rows }, 'events worker: invalid rows quarantined');
    }
    const gid = await redis.get(jobGroupKey(jobId));
    if (gid) return completeGrouped(jobId, gid);
    if (read.rows === 0) return;
    return new Promise<void>((resolve, reject) => add({ jobId, chunk: read.chunk, rows: read.rows, resolve, reject }));
  }

  const worker = new Worker<JobPayload<'events'>, void, JobName<'events'>>(QUEUES.events, processJob, {
    // Options, not the instance: BullMQ opens its own (blocking) connections from them, which
    // need `maxRetriesPerRequest: null`, and closes them; the caller's connection stays as is.
    connection: { ...redis.options, retryStrategy: redis.options.retryStrategy ?? (() => null), maxRetriesPerRequest: null },
    prefix: bullmqPrefix(opts.prefix),
    concurrency: opts.concurrency ?? 200,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    maxStalledCount: opts.maxStalledCount ?? 3,
  });
  worker.on('error', (err) => log?.error({ err }, 'events worker: error'));
  worker.on('failed', (job, err) => log?.warn({ err, jobId: job?.id, attempts: job?.attemptsMade }, 'events worker: job failed'));

  const sampleDepth = async () => {
    try {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      const depth = Object.values(c).reduce((a, b) => a + b, 0);
      metrics?.queueDepth.set(depth);
      health.pendingRows = depth;
      // Lag: age of the oldest job still waiting (jobs are taken oldest first).
      const [oldest] = await queue.getWaiting(0, 0);
      const active = await queue.getActive(0, 0);
      const times = [oldest?.timestamp, active[0]?.timestamp].filter((t): t is number => typeof t === 'number');
      health.lagMs = times.length ? Math.max(0, Date.now() - Math.min(...times)) : 0;
    } catch {
      // Redis unreachable: keep the last figures; the ingest side reports Redis itself.
    }
  };
  const depthTimer = setInterval(sampleDepth, 1000).unref();

  return {
    worker,
    health: () => ({ ...health }),
    async close() {
      closing = true;
      closeOpen();
      clearInterval(depthTimer);
      await worker.close();
      while (lane.size > 0) await Promise.allSettled([...lane]);
      await queue.close();
    },
  };
}
