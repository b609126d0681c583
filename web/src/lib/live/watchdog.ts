/**
 * The live link's watchdog: a screen must not show numbers as live when it can no longer hear
 * the server. Every node sends a heartbeat to each of its dashboards every LIVE_BEAT_MS
 * (shared/live.ts), idle project or not, and any message counts; when nothing has been heard
 * for `silenceMs` while the link claims to be up, `onSilent` runs (the driver then shows
 * `reconnecting`, drops the socket and re-syncs through a new watermark). This catches what the
 * browser's `offline` event and the transport's ping timeout (about 45 s) do not: a network
 * that drops packets without a reset, a server process frozen or paused.
 *
 * No sockets here; time comes from timers and `now`, so it is tested with fake clocks.
 */

export interface WatchdogOptions {
  /** Silence after which the link counts as lost. */
  silenceMs: number;
  /** How often silence is checked (default 1 s). */
  checkMs?: number;
  /** Whether the link claims to be up now (connected, syncing or live): silence matters only then. */
  watching: () => boolean;
  /** Called once per silence (again only after something is heard, or after another `silenceMs`). */
  onSilent: (silentMs: number) => void;
  now?: () => number;
}

export interface Watchdog {
  /** Something arrived from the server (a heartbeat, a tick, presence, an answer, a connect). */
  heard(): void;
  stop(): void;
}

export function startWatchdog(o: WatchdogOptions): Watchdog {
  const now = o.now ?? Date.now;
  let last = now();
  const timer = setInterval(() => {
    if (!o.watching()) {
      last = now(); // not claiming to be up: silence before the next connect does not count
      return;
    }
    const silent = now() - last;
    if (silent < o.silenceMs) return;
    last = now();
    o.onSilent(silent);
  }, o.checkMs ?? 1000);
  return {
    heard() {
      last = now();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
