/**
 * BullMQ queues, job names and job payloads: the messages ingest nodes hand to workers.
 * Names are constants (never bare strings) and each queue is tied to its job name and its
 * payload schema, so `JobPayload<'events'>` is the type a producer of that queue must send and
 * the type a worker gets after `parseJobPayload('events', job.data)`.
 */
import { z } from 'zod';
import { EVENT_COLUMNS, GroupRow, ProfileOp, ReplayRow, SessionRow, WriteBatch } from './rows.ts';

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

/**
 * Version 2 of a batch, what ingest nodes queued before version 3: event rows — nearly every row — as arrays
 * of their values in `EVENT_COLUMNS` order, the other kinds as in version 1. No keys: the
 * payload is about a third smaller and faster to write and to read. Rows were validated once,
 * when the ingest node built them; the worker checks the version and the shape of the event
 * rows (`readEventsJob`), not every value again — the writer makes values storable, and a row
 * ClickHouse still refuses is quarantined. Workers read both versions (a rolling upgrade
 * leaves version 1 jobs queued).
 */
export const EventsJobV2 = z.object({
  v: z.literal(2),
  batchId: z.string().regex(/^[\w-]{1,100}$/),
  node: z.string().max(200),
  createdAt: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  events: z.array(z.array(z.unknown())),
  sessions: z.array(SessionRow),
  profiles: z.array(ProfileOp),
  groups: z.array(GroupRow),
  replays: z.array(ReplayRow),
});
export type EventsJobV2 = z.infer<typeof EventsJobV2>;

/** The version 2 payload of a batch (see EventsJobV2). */
export function eventsJobV2(head: { batchId: string; node: string; createdAt: number; rows: number }, batch: WriteBatch): EventsJobV2 {
  const events = new Array<unknown[]>(batch.events.length);
  for (let i = 0; i < events.length; i++) {
    const r = batch.events[i]! as Record<string, unknown>;
    const a = new Array<unknown>(EVENT_COLUMNS.length);
    for (let c = 0; c < EVENT_COLUMNS.length; c++) a[c] = r[EVENT_COLUMNS[c]!];
    events[i] = a;
  }
  return { v: 2, ...head, events, sessions: batch.sessions, profiles: batch.profiles, groups: batch.groups, replays: batch.replays };
}

const EventsJobV2Rest = EventsJobV2.omit({ events: true });

/**
 * Reads an `events` job of either version into its batch, or null when it is not one. Version 1
 * is validated row by row (EventsJob); version 2 by its shape: the envelope and the rare kinds
 * with zod, each event row as an array of `EVENT_COLUMNS.length` values, and the row count.
 */
export function readEventsJob(data: unknown): { batch: WriteBatch; rows: number } | null {
  if ((data as { v?: unknown } | null)?.v !== 2) {
    const parsed = EventsJob.safeParse(data);
    return parsed.success ? parsed.data : null;
  }
  const { events, ...rest } = data as { events?: unknown };
  if (!Array.isArray(events)) return null;
  const head = EventsJobV2Rest.safeParse(rest);
  if (!head.success) return null;
  const n = EVENT_COLUMNS.length;
  const rows = new Array<Record<string, unknown>>(events.length);
  for (let i = 0; i < events.length; i++) {
    const a = events[i];
    if (!Array.isArray(a) || a.length !== n) return null;
    const o: Record<string, unknown> = {};
    for (let c = 0; c < n; c++) o[EVENT_COLUMNS[c]!] = a[c];
    rows[i] = o;
  }
  const h = head.data;
  const batch = { events: rows as unknown as WriteBatch['events'], sessions: h.sessions, profiles: h.profiles, groups: h.groups, replays: h.replays };
  if (h.rows !== rows.length + h.sessions.length + h.profiles.length + h.groups.length + h.replays.length) return null;
  return { batch, rows: h.rows };
}

/**
 * A version 2 payload as a version 1 one (event rows back to objects, nothing checked), for
 * reading a payload that did not pass `readEventsJob` row by row (workers/salvage.ts).
 */
export function asEventsJobV1(data: unknown): unknown {
  const d = data as { v?: unknown; events?: unknown } | null;
  if (d?.v !== 2 || typeof d !== 'object') return data;
  const { events, sessions, profiles, groups, replays, ...head } = d as Record<string, unknown>;
  const objects = Array.isArray(events) ? events.map((a) => (Array.isArray(a) ? Object.fromEntries(EVENT_COLUMNS.map((c, i) => [c, a[i]])) : a)) : events;
  return { ...head, v: 1, batch: { events: objects, sessions, profiles, groups, replays } };
}

/**
 * Version 3 of a batch, what ingest nodes queue now: the batch as one string in the
 * write-ahead log's batch format (server/engines/wal/batch-format.ts, format 2) — per kind a
 * section header and the rows as JSONCompactEachRow lines, already made storable, in the column
 * list the header names (none: the table's first list; server/engines/wal/column-lists.ts).
 * The worker hands those lines to the insert as they are, naming the columns they carry: it
 * builds no row objects and encodes nothing again, and a job queued before an upgrade that
 * changed a table's columns is stored under the columns it was written with (an added column
 * takes its default, a removed one is dropped, a list the worker does not know is refused).
 * `rows` is checked against the sections' counts.
 */
export const EventsJobV3 = z.object({
  v: z.literal(3),
  batchId: z.string().regex(/^[\w-]{1,100}$/),
  node: z.string().max(200),
  createdAt: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  batch: z.string(),
});
export type EventsJobV3 = z.infer<typeof EventsJobV3>;

/** The payload schema of each queue (`events`: any version; workers read it with server/workers/events.job.ts). */
export const JOB_PAYLOADS = {
  [QUEUES.events]: z.union([EventsJob, EventsJobV2, EventsJobV3]),
  [QUEUES.eventsPerEvent]: EventsJob,
} as const satisfies Record<QueueName, z.ZodType>;
export type JobPayload<Q extends QueueName> = z.infer<(typeof JOB_PAYLOADS)[Q]>;

/** Validates a job's data against its queue's schema. */
export function parseJobPayload<Q extends QueueName>(queue: Q, data: unknown): z.ZodSafeParseResult<JobPayload<Q>> {
  return JOB_PAYLOADS[queue].safeParse(data) as z.ZodSafeParseResult<JobPayload<Q>>;
}
