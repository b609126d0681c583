/**
 * BullMQ queues, job names and job payloads: the messages ingest nodes hand to workers.
 * Names are constants (never bare strings) and each queue is tied to its job name and its
 * payload schema, so `JobPayload<'events'>` is the type a producer of that queue must send and
 * the type a worker gets after `parseJobPayload('events', job.data)`.
 */
import { z } from 'zod';
import { WriteBatch } from './rows.ts';

/** Queue names (BullMQ queue names may not contain `:`). */
export const QUEUES = {
  /** Batches of rows from ingest nodes, written to ClickHouse in large inserts. */
  events: 'events',
  /** Benchmark baseline only: one job per event, one insert per job (the seed's design). */
  eventsPerEvent: 'events-per-event',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** The one job name each queue carries. */
export const JOB_NAMES = {
  [QUEUES.events]: 'write-batch',
  [QUEUES.eventsPerEvent]: 'write-event',
} as const satisfies Record<QueueName, string>;
export type JobName<Q extends QueueName> = (typeof JOB_NAMES)[Q];

/**
 * A batch of rows to write, as queued by one ingest node. `batchId` is also the BullMQ job id;
 * `rows` is the batch's row count (checked against the batch, so a truncated payload fails).
 */
export const EventsJob = z
  .object({
    v: z.literal(1),
    batchId: z.string().regex(/^[\w-]{1,100}$/),
    /** Which ingest node queued it (for logs and tracing). */
    node: z.string().max(200),
    /** When the job was closed on the ingest node (ms since the epoch). */
    createdAt: z.number().int().nonnegative(),
    rows: z.number().int().nonnegative(),
    batch: WriteBatch,
  })
  .refine((j) => j.rows === j.batch.events.length + j.batch.sessions.length + j.batch.profiles.length + j.batch.groups.length + j.batch.replays.length, {
    message: 'rows does not match the batch',
    path: ['rows'],
  });
export type EventsJob = z.infer<typeof EventsJob>;

/** The payload schema of each queue. */
export const JOB_PAYLOADS = {
  [QUEUES.events]: EventsJob,
  [QUEUES.eventsPerEvent]: EventsJob,
} as const satisfies Record<QueueName, z.ZodType>;
export type JobPayload<Q extends QueueName> = z.infer<(typeof JOB_PAYLOADS)[Q]>;

/** Validates a job's data against its queue's schema. */
export function parseJobPayload<Q extends QueueName>(queue: Q, data: unknown): z.ZodSafeParseResult<JobPayload<Q>> {
  return JOB_PAYLOADS[queue].safeParse(data) as z.ZodSafeParseResult<JobPayload<Q>>;
}
