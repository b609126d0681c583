/**
 * Benchmark baseline: the seed's original write path — one BullMQ job per row, one ClickHouse
 * insert per job — on its own queue (`QUEUES.eventsPerEvent`), so the benchmark can compare it
 * with the batched path (engines/queue.bullmq.ts + workers/events.flush.ts) on equal terms.
 * Not used by the server.
 */
import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullmqPrefix, EVENTS_JOB_OPTIONS } from '../server/engines/queue.bullmq.ts';
import type { BatchWriter, EventQueue } from '../server/engines/queue.ts';
import { JOB_NAMES, type JobName, type JobPayload, parseJobPayload, QUEUES } from '../shared/jobs.ts';
import { emptyBatch, type WriteBatch } from '../shared/rows.ts';

type Payload = JobPayload<'events-per-event'>;
type Name = JobName<'events-per-event'>;

/** Every row of `batch` as a batch of its own. */
function splitRows(batch: WriteBatch): WriteBatch[] {
  const out: WriteBatch[] = [];
  for (const kind of ['events', 'sessions', 'profiles', 'groups', 'replays'] as const) {
    for (const row of batch[kind]) {
      const one = emptyBatch();
      (one[kind] as unknown[]).push(row);
      out.push(one);
    }
  }
  return out;
}

/** An EventQueue adding one job per row (`queue.add` each); push resolves when all are added. */
export function createPerEventQueue(opts: { connection: Redis; prefix: string }): EventQueue {
  const queue = new Queue<Payload, void, Name>(QUEUES.eventsPerEvent, { connection: opts.connection, prefix: bullmqPrefix(opts.prefix) });
  queue.on('error', () => {});
  const node = `bench-${process.pid}`;
  const adding = new Set<Promise<unknown>>();
  return {
    async push(batch) {
      const p = Promise.all(
        splitRows(batch).map((one) => {
          const batchId = randomUUID();
          const data: Payload = { v: 1, batchId, node, createdAt: Date.now(), rows: 1, batch: one };
          return queue.add(JOB_NAMES[QUEUES.eventsPerEvent], data, { ...EVENTS_JOB_OPTIONS, jobId: batchId });
        }),
      );
      adding.add(p);
      try {
        await p;
      } finally {
        adding.delete(p);
      }
    },
    async depth() {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      return Object.values(c).reduce((a, b) => a + b, 0);
    },
    async close() {
      await Promise.allSettled([...adding]);
      await queue.close();
    },
  };
}

/** A worker inserting each job on its own (token = job id, so a retry is not stored twice). */
export function createPerEventWorker(opts: { connection: Redis; prefix: string; writer: BatchWriter; concurrency?: number }) {
  const worker = new Worker<Payload, void, Name>(
    QUEUES.eventsPerEvent,
    async (job) => {
      const parsed = parseJobPayload(QUEUES.eventsPerEvent, job.data);
      if (!parsed.success) throw new UnrecoverableError('invalid payload');
      await opts.writer.write(parsed.data.batch, job.id!);
    },
    {
      connection: { ...opts.connection.options, retryStrategy: opts.connection.options.retryStrategy ?? (() => null), maxRetriesPerRequest: null },
      prefix: bullmqPrefix(opts.prefix),
      concurrency: opts.concurrency ?? 50,
    },
  );
  worker.on('error', () => {});
  return { worker, close: () => worker.close() };
}
