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
  /** Called with each batch of closed sessions once it is queued (must not throw). */
  onClosed?: (batch: WriteBatch) => void;
}

export function createSessionReaper(deps: ReaperDeps) {
  const limit = deps.batch ?? 500;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;

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

  // Claimed sessions exist nowhere else: keep retrying rather than lose them.
  async function pushWithRetry(batch: ReturnType<typeof emptyBatch>) {
    for (let attempt = 0; ; attempt++) {
      try {
        await deps.queue.push(batch);
        return;
      } catch (err) {
        if (attempt >= 8) throw err;
        deps.log.warn({ err, attempt }, 'session rows not queued; retrying');
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
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
      await running;
    },
  };
}
