/**
 * Reports this node's open SDK sockets per project to the Presence engine: a change is written
 * within `flushMs` (changes in between coalesce into one write per project), every count is
 * repeated every `heartbeatMs` so it keeps counting (the engine's TTL drops a node that died),
 * and `close()` reports 0 for every project so a clean leave is seen at once. Writes are
 * serialised: a project's counts land in the order they changed. No sockets here.
 */
import type { Presence } from '../engines/presence.ts';
import type { Logger } from '../log.ts';

export interface PresenceReporterOptions {
  presence: Presence;
  nodeId: string;
  /** Period of the heartbeat that repeats every non-zero count (default 2 s; keep well under the engine TTL). */
  heartbeatMs?: number;
  /** How long changes coalesce before they are written (default 100 ms). */
  flushMs?: number;
  /** After changed counts were written: the totals of these projects may have changed. */
  onReported?: (projectIds: string[]) => void;
  /** After each heartbeat: other nodes' reports may have expired meanwhile. */
  onHeartbeat?: () => void;
  /** Longest `close()` waits for writes still pending (Redis unreachable) (default 2 s). */
  closeTimeoutMs?: number;
  log?: Logger;
}

export interface PresenceReporter {
  /** This node now holds `count` open SDK sockets for `projectId`. */
  changed(projectId: string, count: number): void;
  /** This node's current count for `projectId`. */
  local(projectId: string): number;
  /** Stops the timers and reports 0 for every project this node counted (then `onReported`). */
  close(): Promise<void>;
}

export function createPresenceReporter(opts: PresenceReporterOptions): PresenceReporter {
  const { presence, nodeId } = opts;
  const flushMs = opts.flushMs ?? 100;
  const counts = new Map<string, number>();
  const dirty = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;

  /** Runs one batch of writes after the previous one (never two at once). */
  function write(entries: Array<[string, number]>, then?: () => void): Promise<void> {
    const run = async () => {
      const results = await Promise.allSettled(entries.map(([p, n]) => presence.set(nodeId, p, n)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) opts.log?.warn({ err: failed.reason }, 'presence report failed');
      then?.();
    };
    const next = (writing ?? Promise.resolve()).then(run);
    writing = next;
    void next.finally(() => {
      if (writing === next) writing = undefined;
    });
    return next;
  }

  function flush() {
    flushTimer = undefined;
    // One write batch at a time: while one is pending (Redis slow or down) changes keep coalescing.
    if (writing) {
      void writing.then(() => !closed && dirty.size > 0 && schedule());
      return;
    }
    const ids = [...dirty];
    dirty.clear();
    void write(
      ids.map((p) => [p, counts.get(p) ?? 0]),
      () => opts.onReported?.(ids),
    );
  }

  function schedule() {
    if (!flushTimer) flushTimer = setTimeout(flush, flushMs).unref();
  }

  const heartbeat = setInterval(() => {
    if (writing) return; // the previous report is still on its way: do not pile up
    void write([...counts], opts.onHeartbeat);
  }, opts.heartbeatMs ?? 2000).unref();

  return {
    changed(projectId, count) {
      if (closed) return;
      const n = Math.max(0, Math.floor(count));
      if (n > 0) counts.set(projectId, n);
      else counts.delete(projectId);
      dirty.add(projectId);
      schedule();
    },
    local: (projectId) => counts.get(projectId) ?? 0,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(flushTimer);
      const leaving = new Set([...counts.keys(), ...dirty]);
      counts.clear();
      dirty.clear();
      const ids = [...leaving];
      const done = write(
        ids.map((p) => [p, 0]),
        () => ids.length > 0 && opts.onReported?.(ids),
      );
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((r) => (timeout = setTimeout(r, opts.closeTimeoutMs ?? 2000)))]);
      clearTimeout(timeout);
    },
  };
}
