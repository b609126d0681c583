/**
 * The ingest service every transport calls: validates each event, runs the enrichment
 * pipeline, drops repeats of client event ids, assigns sessions, turns the result into rows
 * and queues them. `accept` resolves once the accepted rows are durable — only then may a
 * transport acknowledge. One invalid event is rejected on its own; its neighbours are stored.
 */

import type { DropReason } from '../../shared/drop-reasons.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { batchSize, emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { TrackBody } from '../../shared/track.ts';
import type { Dedupe } from '../engines/dedupe.ts';
import type { EventQueue } from '../engines/queue.ts';
import type { SessionStore } from '../engines/sessions.ts';
import { AppError, zodIssues } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { newDraft } from './draft.ts';
import { fastTrackBody } from './edge-parse.ts';
import type { Pipeline } from './pipeline.ts';
import { toRows } from './rows.ts';
import type { SessionStep } from './steps/session.ts';
import { type Caller, type Draft, type Dropped, isDropped, type RequestInfo } from './types.ts';

/** One event as a transport received it: an unvalidated `{type, payload}` body and its client id. */
export interface IngestItem {
  body: unknown;
  clientEventId?: string;
}

export type ItemResult =
  | { status: 'accepted'; deviceId: string; sessionId: string }
  | { status: 'dropped'; reason: DropReason; deviceId: string; sessionId: string }
  | { status: 'rejected'; code: ErrorCode; message: string; issues?: AppError['issues'] };

export type Transport = 'track' | 'batch' | 'ws';

export interface IngestDeps {
  enrich: Pipeline;
  session: SessionStep;
  sessions: SessionStore;
  dedupe: Dedupe;
  queue: EventQueue;
  metrics?: Metrics;
  /** How long a client event id is remembered (a resend after this is stored again). */
  dedupeTtlMs?: number;
  /**
   * How long a claimed, not yet confirmed client event id holds off other requests with that
   * id (default 10 s). Past it the claimer is presumed dead (killed between claim and queue)
   * and a resend is stored. Must exceed the time from claim to durable push.
   */
  dedupeLeaseMs?: number;
  /**
   * False while a store every accept needs is unreachable (Redis down): `accept` then fails
   * at once with 503 instead of holding the request until Redis is back. Requests already
   * past this check complete (durably) once it is.
   */
  available?: () => boolean;
  /**
   * Called with every batch of rows once it is durable (the live channel's tick feed). Must be
   * cheap and synchronous; a throw is ignored so it can never fail an accepted batch.
   */
  onAccepted?: (caller: Caller, batch: WriteBatch) => void;
}

export type Ingest = ReturnType<typeof createIngest>;

export function createIngest(deps: IngestDeps) {
  const dedupeTtl = deps.dedupeTtlMs ?? 3_600_000;
  const dedupeLease = Math.min(deps.dedupeLeaseMs ?? 10_000, dedupeTtl);
  const counters = deps.metrics && eventCounters(deps.metrics);

  function rejected(err: unknown): ItemResult {
    if (err instanceof AppError) return { status: 'rejected', code: err.code, message: err.message, issues: err.issues };
    throw err;
  }

  const enriched = (out: Draft | Dropped): Draft | ItemResult =>
    isDropped(out) ? { status: 'dropped', reason: out.dropped, deviceId: '', sessionId: '' } : out;

  /** Validates and enriches one event: synchronously when the pipeline is (see pipeline.ts). */
  function prepare(caller: Caller, request: RequestInfo, item: IngestItem): Draft | ItemResult | Promise<Draft | ItemResult> {
    let body: TrackBody | undefined = fastTrackBody(item.body);
    if (!body) {
      const parsed = TrackBody.safeParse(item.body);
      if (!parsed.success) {
        return { status: 'rejected', code: 'invalid_event', message: 'Event does not match the protocol', issues: zodIssues(parsed.error) };
      }
      body = parsed.data;
    }
    try {
      const out = deps.enrich(newDraft(caller, request, body, item.clientEventId));
      return out instanceof Promise ? out.then(enriched, rejected) : enriched(out);
    } catch (err) {
      return rejected(err);
    }
  }

  /**
   * Claims the client event ids of `drafts`. An id is claimed for a short lease while its
   * events are stored and confirmed once they are durable; only a confirmed id (or one repeated
   * within this call) is a duplicate. An id another request has claimed but not confirmed may
   * still fail or belong to a node that died: the client must retry (503, claims released).
   * Answers, per draft (same positions), its key (undefined: no id) and whether it is a duplicate.
   */
  async function claimIds(caller: Caller, drafts: Array<{ i: number; draft: Draft }>) {
    const keyOf: Array<string | undefined> = new Array(drafts.length);
    const keys: string[] = [];
    for (let k = 0; k < drafts.length; k++) {
      const id = drafts[k]!.draft.clientEventId;
      if (!id) continue;
      const key = `${caller.projectId}:${id}`;
      keyOf[k] = key;
      keys.push(key);
    }
    const fresh = await deps.dedupe.claim(keys, dedupeLease);
    // `claim` answers true only for the first of a key repeated within the call: these are unique.
    const claimedHere: string[] = [];
    const others: string[] = [];
    for (let k = 0; k < keys.length; k++) (fresh[k] ? claimedHere : others).push(keys[k]!);
    if (others.length > 0) {
      // Claimed before this call (by another request, or confirmed): not repeats within this call.
      const mine = new Set(claimedHere);
      const claimedByOthers = [...new Set(others.filter((key) => !mine.has(key)))];
      if (claimedByOthers.length > 0) {
        const confirmed = await deps.dedupe.confirmed(claimedByOthers).catch(async (err) => {
          await deps.dedupe.release(claimedHere).catch(() => {});
          throw err;
        });
        if (confirmed.some((c) => !c)) {
          await deps.dedupe.release(claimedHere).catch(() => {});
          throw new AppError(503, 'overloaded', 'Events with these ids are still being stored by another request; resend the batch in a few seconds');
        }
      }
    }
    const duplicate: boolean[] = new Array(drafts.length).fill(false);
    if (others.length > 0) for (let k = 0, n = 0; k < drafts.length; k++) if (keyOf[k] !== undefined && !fresh[n++]) duplicate[k] = true;
    return { claimedHere, duplicate, keyOf };
  }

  /**
   * Validates, enriches and queues `items`; resolves with one result per item, in order, once
   * every accepted row is durable. Rejects (nothing acknowledged) if the queue could not take them.
   */
  async function accept(caller: Caller, request: RequestInfo, items: IngestItem[], transport: Transport): Promise<ItemResult[]> {
    if (deps.available && !deps.available()) throw new AppError(503, 'internal', 'The event queue is unavailable; retry shortly');
    const results: Array<ItemResult | undefined> = new Array(items.length);
    const drafts: Array<{ i: number; draft: Draft }> = [];
    let withIds = false;
    for (let i = 0; i < items.length; i++) {
      const prepared = prepare(caller, request, items[i]!);
      const out = prepared instanceof Promise ? await prepared : prepared;
      if ('status' in out) results[i] = out;
      else {
        drafts.push({ i, draft: out });
        if (out.clientEventId) withIds = true;
      }
    }

    // Drop repeats of client event ids before they touch sessions (only events with ids:
    // `/track` sends none, and pays nothing for this).
    const ids = withIds ? await claimIds(caller, drafts) : undefined;
    const claimedHere = ids?.claimedHere ?? [];

    const batch: WriteBatch = emptyBatch();
    const stored: string[] = [];
    const notStored: string[] = [];
    try {
      // `live` and `liveKeys` keep the same positions.
      const live: Array<{ i: number; draft: Draft }> = [];
      const liveKeys: Array<string | undefined> = [];
      for (let k = 0; k < drafts.length; k++) {
        const d = drafts[k]!;
        if (ids?.duplicate[k]) results[d.i] = { status: 'dropped', reason: 'duplicate', deviceId: d.draft.row.device_id, sessionId: '' };
        else {
          live.push(d);
          liveKeys.push(ids?.keyOf[k]);
        }
      }
      // Browser `track` events go through the session step together, one store call per run of
      // them (one Redis round trip for a typical batch instead of one per event); any other
      // payload one at a time, in order, so every event sees the sessions as `run` would.
      for (let from = 0; from < live.length; ) {
        let to = from;
        while (to < live.length && sessionsTogether(live[to]!.draft)) to++;
        if (to > from) {
          await deps.session.runMany(from === 0 && to === live.length ? live.map((x) => x.draft) : live.slice(from, to).map((x) => x.draft));
        } else {
          to = from + 1;
          await deps.session.run(live[from]!.draft);
        }
        for (let k = from; k < to; k++) {
          const { i, draft: d } = live[k]!;
          const key = liveKeys[k];
          try {
            const pending = toRows(d, batch, deps.sessions);
            if (pending) await pending;
            results[i] = { status: 'accepted', deviceId: d.row.device_id, sessionId: d.row.session_id };
            if (key) stored.push(key);
          } catch (err) {
            results[i] = rejected(err);
            if (key) notStored.push(key);
          }
        }
        from = to;
      }
      await deps.queue.push(batch, { ids: stored, ttlMs: dedupeTtl });
    } catch (err) {
      if (claimedHere.length) await deps.dedupe.release(claimedHere).catch(() => {});
      throw err;
    }
    if (deps.onAccepted && batchSize(batch) > 0) {
      try {
        deps.onAccepted(caller, batch);
      } catch {
        // the live view is best-effort; the batch is already durable and will be acknowledged
      }
    }
    // A rejected event is not stored: its id must not answer a corrected resend as a duplicate.
    if (notStored.length) await deps.dedupe.release(notStored).catch(() => {});
    // Queues that cannot confirm atomically with the write (in-process ones): confirm now. A
    // failure here only lets the claims lapse after their lease.
    if (!deps.queue.confirmsDedupe && stored.length) await deps.dedupe.confirm(stored, dedupeTtl).catch(() => {});

    const final = results as ItemResult[];
    if (counters) counters.record(transport, items, final);
    return final;
  }

  return { accept };
}

/** Events the session step takes in one `runMany` call: browser `track` events. */
const sessionsTogether = (d: Draft) => d.body.type === 'track' && !d.serverSide;

/**
 * The event counters by label, each labelled child looked up once: prom-client hashes a label
 * object on every `inc`. Labels come from closed sets (transports, body types that passed
 * validation, drop reasons, error codes), so the table stays small. A batch's events mostly
 * share one label: a run of equal labels is counted with one `inc`, and its key is built once.
 */
function eventCounters(m: Metrics) {
  const children = new Map<string, { inc(n?: number): void }>();
  const child = (key: string, make: () => { inc(n?: number): void }) => {
    let c = children.get(key);
    if (!c) {
      c = make();
      children.set(key, c);
    }
    return c;
  };
  /** The counter of result `r` (of an event whose body had `type`). */
  const counterOf = (transport: Transport, type: unknown, r: ItemResult) => {
    if (r.status === 'accepted') {
      const t = String(type);
      return child(`a|${transport}|${t}`, () => m.eventsAccepted.labels({ transport, type: t }));
    }
    if (r.status === 'dropped') return child(`d|${r.reason}`, () => m.eventsDropped.labels({ reason: r.reason }));
    return child(`r|${transport}|${r.code}`, () => m.eventsRejected.labels({ transport, code: r.code }));
  };
  /** What decides an event's counter: its status and the type, reason or code with it. */
  const labelOf = (type: unknown, r: ItemResult) => (r.status === 'accepted' ? type : r.status === 'dropped' ? r.reason : r.code);
  return {
    record(transport: Transport, items: IngestItem[], results: ItemResult[]) {
      let run = 0;
      let status = '';
      let label: unknown;
      for (let i = 0; i <= results.length; i++) {
        const r = results[i];
        // Only an accepted body was an object with a type (a rejected one may be `null`).
        const type = r?.status === 'accepted' ? (items[i]!.body as { type?: unknown }).type : undefined;
        if (r && run > 0 && r.status === status && labelOf(type, r) === label) {
          run++;
          continue;
        }
        if (run > 0) counterOf(transport, label, results[i - 1]!).inc(run);
        if (!r) break;
        run = 1;
        status = r.status;
        label = labelOf(type, r);
      }
    },
  };
}
