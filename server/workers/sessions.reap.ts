/**
 * The session reaper: every few seconds, claims sessions whose timeout (and socket
 * keep-alive) has passed and writes each one's `sessions` row and `session_end` event.
 * `claimExpired` hands a session to exactly one reaper, so several worker processes may run
 * this side by side. Runs in the `worker` role. Once a batch is queued (durable) it is handed
 * to `onClosed`, which app.ts points at the live channel: the `session_end` events reach the
 * dashboards' ticks like any other accepted event.
 */

import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import type { EventQueue } from '../engines/queue.ts';
import type { SessionStore } from '../engines/sessions.ts';
import { sessionEndEvent, sessionRow } from '../ingest/session-rows.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

export interface ReaperDeps {
  sessions: SessionStore;
  queue: EventQueue;
  log: Logger;
  metrics?: Metrics;
  intervalMs?: number;
  /** Sessions claimed per round trip. */
  batch?: number;
  /** Longest wait between retries of a failed push (default 30 s). */
  maxBackoffMs?: number;
  /** After `stop()`, how long a failing push keeps being retried before its sessions are reported lost (default 10 s). */
  stopGraceMs?: number;
  /** Called with each batch of closed sessions once it is queued (must not throw). */
  onClosed?: (batch: WriteBatch) => void;
}

export function createSessionReaper(deps: ReaperDeps) {
  const limit = deps.batch ?? 500;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  const maxBackoffMs = deps.maxBackoffMs ?? 30_000;
  let stopping: { giveUpAt: number } | undefined;
  /** Cuts the current backoff wait short (on stop). */
  let wake: (() => void) | undefined;

  /** Closes every session expired at `now`; returns how many. */
  async function reap(now = Date.now()): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await deps.sessions.claimExpired(now, limit);
      if (due.length === 0) break;
      const batch = emptyBatch();
      for (const s of due) {
        batch.sessions.push(sessionRow(s));
        batch.events.push(sessionEndEvent(s));
      }
      await pushWithRetry(batch);
      deps.onClosed?.(batch);
      total += due.length;
      deps.metrics?.sessionsClosed.inc(due.length);
      if (due.length < limit) break;
    }
    deps.metrics?.sessionsOpen.set(await deps.sessions.size());
    return total;
  }

  // Claimed sessions exist nowhere else (the store handed them over): never drop them. Retry
  // with backoff for as long as the process runs; once `stop()` was called, for `stopGraceMs`
  // more, then report what could not be written.
  async function pushWithRetry(batch: ReturnType<typeof emptyBatch>) {
    for (let attempt = 0; ; attempt++) {
      try {
        await deps.queue.push(batch);
        return;
      } catch (err) {
        deps.metrics?.sessionPushRetries.inc();
        if (stopping && Date.now() >= stopping.giveUpAt) {
          deps.metrics?.sessionsLost.inc(batch.sessions.length);
          deps.log.error({ err, sessions: batch.sessions.length }, 'closed sessions could not be queued before shutdown; they are lost');
          throw err;
        }
        if (attempt === 0 || attempt % 10 === 0) deps.log.warn({ err, attempt }, 'closed sessions not queued; retrying');
        await new Promise<void>((r) => {
          const backoff = Math.min(200 * 2 ** Math.min(attempt, 10), maxBackoffMs);
          const t = setTimeout(r, stopping ? Math.max(0, Math.min(backoff, stopping.giveUpAt - Date.now())) : backoff);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
        wake = undefined;
      }
    }
  }

  function tick() {
    if (running) return;
    running = reap().catch((err) => {
      deps.log.error({ err }, 'session reaper failed');
      return 0;
    });
    running.finally(() => {
      running = null;
    });
  }

  return {
    reap,
    start() {
      timer ??= setInterval(tick, deps.intervalMs ?? 5000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      stopping = { giveUpAt: Date.now() + (deps.stopGraceMs ?? 10_000) };
      wake?.();
      await running;
    },
  };
}
