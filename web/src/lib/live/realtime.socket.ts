/**
 * Connects a RealtimeState to the live channel (socket.io at /socket.io/ on the same origin,
 * README "Live channel"): authenticates as the signed-in user (the session cookie goes with
 * the handshake), a share link, or a read client; feeds `tick` and
 * `presence` into the state, and keeps the connection state honest. Self-healing: socket.io
 * reconnects by itself after network loss (with backoff); a server-side disconnect (a node
 * draining) or a refusal that is not about the credentials (`not_ready`, `internal`, …) is
 * retried here; only a refusal of the credentials stops, asking to sign in again. A connection
 * that goes silent (no heartbeat for LIVE_SILENCE_MS: packets dropped without a reset, a frozen
 * server) is dropped and retried by the watchdog (watchdog.ts).
 */

import { io, type Socket } from 'socket.io-client';
import { type ClientToServerEvents, LIVE_SILENCE_MS, type LiveAuth, type LiveConnectError, type ServerToClientEvents } from '$shared/live.ts';
import { CREDENTIAL_ERRORS } from './link.ts';
import type { RealtimeState } from './realtime.svelte.ts';
import { startWatchdog } from './watchdog.ts';

type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const RETRY_MS = 3000;

export interface WatchOptions {
  /** Livepanel's origin (default: the page's). */
  url?: string;
}

/** Starts watching; returns the function that stops (closes the socket, timers and frames). */
/** What to watch: the project, and how the socket authenticates (`{ projectId }` for the signed-in user). */
export interface WatchTarget {
  projectId: string;
  auth: LiveAuth;
}

export function watchRealtime(state: RealtimeState, target: WatchTarget, opts: WatchOptions = {}): () => void {
  const options = { auth: { ...target.auth }, reconnectionDelayMax: 10_000, withCredentials: true };
  const socket: LiveSocket = opts.url ? io(opts.url, options) : io(options);
  let retry: ReturnType<typeof setTimeout> | undefined;
  const retryLater = () => {
    clearTimeout(retry);
    retry = setTimeout(() => socket.connect(), RETRY_MS);
  };

  const watchdog = startWatchdog({
    silenceMs: LIVE_SILENCE_MS,
    watching: () => socket.connected,
    onSilent(ms) {
      state.setConnection({ status: 'reconnecting', detail: `no word from the server for ${Math.round(ms / 1000)} s` });
      socket.disconnect();
      retryLater();
    },
  });
  const heard = () => watchdog.heard();

  state.setConnection({ status: 'connecting' });
  socket.on('connect', () => {
    heard();
    state.setConnection({ status: 'live' });
  });
  socket.on('heartbeat', heard);
  socket.on('disconnect', (reason) => {
    if (reason === 'io client disconnect') return; // we closed it
    state.setConnection({ status: 'reconnecting', detail: reason });
    // socket.io leaves reconnecting to us only when the server closed the socket.
    if (!socket.active) retryLater();
  });
  socket.on('connect_error', (err: Error & { data?: LiveConnectError }) => {
    if (socket.active) {
      state.setConnection({ status: 'reconnecting', detail: err.message }); // transport trouble: socket.io retries
    } else if (err.data && CREDENTIAL_ERRORS.has(err.data.code)) {
      state.setConnection({ status: 'refused', code: err.data.code, message: err.data.message });
    } else {
      state.setConnection({ status: 'reconnecting', detail: err.data?.message ?? err.message });
      retryLater();
    }
  });
  socket.on('tick', (tick) => {
    heard();
    if (tick.projectId === target.projectId) state.addTick(tick);
  });
  socket.on('presence', (p) => {
    heard();
    if (p.projectId === target.projectId) state.setPresence(p);
  });
  const clock = setInterval(() => state.refresh(), 1000);

  return () => {
    watchdog.stop();
    clearInterval(clock);
    clearTimeout(retry);
    socket.disconnect();
    state.dispose();
  };
}
