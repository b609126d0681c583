/**
 * The distributed shape's event queue, used by ingest nodes: rows from many `push` calls are
 * gathered in a local buffer and queued on BullMQ as ONE job per buffer, which workers
 * (`workers/events.flush.ts`) write to ClickHouse. A buffer closes when it holds `maxJobRows`
 * rows or `lingerMs` after its first rows arrived. Every `push` whose rows went into a job
 * resolves once `queue.add` for that job has resolved — the rows are then durable in Redis and
 * SDKs may be acked — and rejects if the add failed (nothing of that push was queued).
 * A push is never split across jobs, so a job may exceed `maxJobRows` when one push alone does.
 * The dedupe ids a push asks to confirm are confirmed in the same MULTI/EXEC as the job add,
 * and only if the job is then in Redis: a crash can never leave queued events unconfirmed
 * (a resend would be stored twice) or confirmed events unqueued (a resend would be dropped
 * as a duplicate of events that were never stored).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Job, type JobsOptions, Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import { JOB_NAMES, type JobName, type JobPayload, QUEUES } from '../../shared/jobs.ts';
import { batchSize, emptyBatch, mergeInto, type WriteBatch } from '../../shared/rows.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { dedupeKey } from './dedupe.redis.ts';
import type { DedupeConfirmation, EventQueue } from './queue.ts';
import { encodeBatch } from './wal/batch-format.ts';

/** The BullMQ `prefix` for a Livepanel key prefix (`lp:` → `lp:bull`, keys `lp:bull:events:…`). */
export function bullmqPrefix(prefix: string): string {
  return `${prefix.replace(/:+$/, '')}:bull`;
}

/**
 * Retry and retention for `events` jobs. Failed jobs are kept by age (not only by count) so a
 * job whose group was recorded but not confirmed can still be rebuilt (see events.flush.ts).
 */
export const EVENTS_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const satisfies JobsOptions;

/** A typed BullMQ Queue for one of our queues. */
export type TypedQueue<Q extends keyof typeof JOB_NAMES> = Queue<JobPayload<Q>, void, JobName<Q>>;

/** Opens the `events` queue on a caller-owned connection (closing the Queue leaves it open). */
export function openEventsQueue(connection: Redis, prefix: string): TypedQueue<'events'> {
  return new Queue<JobPayload<'events'>, void, JobName<'events'>>(QUEUES.events, {
    connection,
    prefix: bullmqPrefix(prefix),
  });
}

export interface BullmqQueueOptions {
  /** Owned by the caller: `close()` does not quit it. */
  connection: Redis;
  /** Livepanel key prefix (e.g. `lp:`); BullMQ keys go under `bullmqPrefix(prefix)`. */
  prefix: string;
  /** How long the first rows of a buffer wait for company before their job is queued. */
  lingerMs?: number;
  /** Rows at which a buffer is queued at once. */
  maxJobRows?: number;
  /** Rows buffered or being added beyond which `push` refuses with 503 `overloaded`. */
  maxPendingRows?: number;
  /** This node's name in job payloads (default: host, pid and a random suffix). */
  nodeId?: string;
  /** Overrides of EVENTS_JOB_OPTIONS (attempts, backoff, retention). */
  jobOptions?: Partial<typeof EVENTS_JOB_OPTIONS>;
  metrics?: Metrics;
  log?: Logger;
}

interface Buffer {
  batch: WriteBatch;
  rows: number;
  timer: NodeJS.Timeout;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
  confirms: DedupeConfirmation[];
}

// Runs right after the job add in the same MULTI: confirms the dedupe ids (KEYS[2..]) only if
// the job hash (KEYS[1]) exists, i.e. the add worked. ARGV[1]: the confirmation's TTL in ms.
const CONFIRM_IF_QUEUED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #KEYS do redis.call('SET', KEYS[i], 'd', 'PX', ARGV[1]) end
return #KEYS - 1
`;

/**
 * An EventQueue that queues batches on BullMQ. `depth()` counts JOBS (not rows) in Redis that
 * are waiting, prioritized, delayed (retrying) or active — each holds up to `maxJobRows` rows.
 */
export function createBullmqQueue(opts: BullmqQueueOptions): EventQueue {
  const lingerMs = opts.lingerMs ?? 20;
  const maxJobRows = opts.maxJobRows ?? 1000;
  const maxPending = opts.maxPendingRows ?? Math.max(maxJobRows * 100, 100_000);
  const node = opts.nodeId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
  const jobOptions: JobsOptions = { ...EVENTS_JOB_OPTIONS, ...opts.jobOptions };
  const queue = openEventsQueue(opts.connection, opts.prefix);
  queue.on('error', (err) => opts.log?.error({ err }, 'events queue: redis error'));

  let buffer: Buffer | null = null;
  let pendingRows = 0;
  let closed = false;
  const adding = new Set<Promise<void>>();

  /** Adds one job and, in the same transaction, confirms the dedupe ids of its rows. */
  async function addJob(batchId: string, payload: JobPayload<'events'>, confirms: DedupeConfirmation[]): Promise<void> {
    const name = JOB_NAMES[QUEUES.events];
    const jobOpts = { ...jobOptions, jobId: batchId };
    if (confirms.every((c) => c.ids.length === 0)) {
      await queue.add(name, payload, jobOpts);
      return;
    }
    const tx = (await queue.getBackend().client).multi();
    await new Job(queue, name, payload, jobOpts, batchId).addJob(tx); // only queues the add on tx
    const jobKey = queue.toKey(batchId);
    for (const c of confirms) {
      if (c.ids.length === 0) continue;
      const keys = [jobKey, ...c.ids.map((id) => dedupeKey(opts.prefix, id))];
      (tx as unknown as ChainableCommander).eval(CONFIRM_IF_QUEUED, keys.length, ...keys, Math.max(1, Math.ceil(c.ttlMs)));
    }
    const replies = await tx.exec();
    if (!replies) throw new Error('events queue: transaction discarded');
    const [addErr, added] = replies[0]!;
    if (addErr) throw addErr;
    if (typeof added === 'number' && added < 0) throw new Error(`events queue: add failed with code ${added}`);
    const failed = replies.slice(1).find(([err]: [Error | null, unknown]) => err);
    // The job is queued: the push succeeded. Unconfirmed ids only lapse after their lease.
    if (failed) opts.log?.error({ err: failed[0], batchId }, 'events queue: job queued but dedupe ids not confirmed');
  }

  /** Queues the current buffer as one job; its waiters settle with the add. */
  function closeBuffer(): void {
    const b = buffer;
    if (!b) return;
    buffer = null;
    clearTimeout(b.timer);
    const batchId = randomUUID();
    // Version 3: the rows as the insert's lines, in the WAL's batch format (shared/jobs.ts).
    const payload: JobPayload<'events'> = { v: 3, batchId, node, createdAt: Date.now(), rows: b.rows, batch: encodeBatch(b.batch) };
    const p = addJob(batchId, payload, b.confirms)
      .then(
        () => {
          for (const w of b.waiters) w.resolve();
        },
        (err: unknown) => {
          opts.log?.error({ err, rows: b.rows, batchId }, 'events queue: add failed; pushes rejected');
          const e = new AppError(503, 'internal', 'Events could not be queued; retry later');
          e.cause = err;
          for (const w of b.waiters) w.reject(e);
        },
      )
      .finally(() => {
        pendingRows -= b.rows;
        adding.delete(p);
      });
    adding.add(p);
  }

  return {
    confirmsDedupe: true,
    push(batch, confirm) {
      const rows = batchSize(batch);
      if (closed) return Promise.reject(new AppError(503, 'shutting_down', 'Server is shutting down'));
      if (rows === 0) return Promise.resolve();
      if (pendingRows + rows > maxPending) {
        return Promise.reject(new AppError(503, 'overloaded', 'Too many events waiting to be queued; retry later'));
      }
      return new Promise<void>((resolve, reject) => {
        // Keep a push whole: close the buffer first if this push would overflow it.
        if (buffer && buffer.rows + rows > maxJobRows) closeBuffer();
        if (!buffer) buffer = { batch: emptyBatch(), rows: 0, timer: setTimeout(closeBuffer, lingerMs), waiters: [], confirms: [] };
        if (confirm && confirm.ids.length > 0) buffer.confirms.push(confirm);
        mergeInto(buffer.batch, batch);
        buffer.rows += rows;
        buffer.waiters.push({ resolve, reject });
        pendingRows += rows;
        if (buffer.rows >= maxJobRows) closeBuffer();
      });
    },
    async depth() {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
      opts.metrics?.queueDepth.set(jobs);
      return jobs;
    },
    async close() {
      if (!closed) {
        closed = true;
        closeBuffer();
      }
      while (adding.size > 0) await Promise.all([...adding]);
      await queue.close();
    },
  };
}
