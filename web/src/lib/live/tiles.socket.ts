/**
 * Drives a LiveTiles over the live channel (socket.io at /socket.io/, README "Live channel"):
 * subscribes the tiles on every (re)connect, folds `tiles:backfill`, `tick` and `presence` in,
 * and follows the link state machine (link.ts) so a screen is `live` only once every tile has
 * its backfill. Built to run for weeks on a TV: socket.io reconnects after network loss and
 * server restarts (jittered backoff), a server-side disconnect or a refusal that is not about
 * the credentials is retried here, the browser going offline shows `reconnecting` at once, a
 * connection that goes silent (no heartbeat for LIVE_SILENCE_MS: packets dropped without a
 * reset, a frozen server) is dropped and re-synced by the watchdog (watchdog.ts), a lost tick
 * or a backfill that never comes re-syncs, and "since 09:00" tiles move to the next day by
 * themselves. Every timer and listener is removed by the returned stop function.
 */
import { io, type Socket } from 'socket.io-client';
import { type ClientToServerEvents, LIVE_SILENCE_MS, type LiveAuth, type LiveConnectError, type ServerToClientEvents } from '$shared/live.ts';
import type { TileRequest, TilesSubscribeResult } from '$shared/live-tiles.ts';
import { type LinkEvent, nextLink, retryDelayMs } from './link.ts';
import type { LiveTiles } from './live-tiles.svelte.ts';
import { startWatchdog } from './watchdog.ts';

type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TilesTarget {
  projectId: string;
  auth: LiveAuth;
  /** The tiles to watch at `now` (called at each subscribe and every `recheckMs`). */
  requests(now: number): TileRequest[];
}

export interface WatchTilesOptions {
  /** Livepanel's origin (default: the page's). */
  url?: string;
  /** How often the requests are recomputed (a "since 09:00" rolling over). Default 30 s. */
  recheckMs?: number;
  /** Longest wait for the subscribe answer and the backfills before re-syncing. Default 60 s. */
  syncTimeoutMs?: number;
  /** Silence (no heartbeat, tick or answer) after which the connection counts as lost. Default LIVE_SILENCE_MS. */
  silenceMs?: number;
}

export function watchTiles(state: LiveTiles, target: TilesTarget, opts: WatchTilesOptions = {}): () => void {
  const options = { auth: { ...target.auth }, reconnectionDelay: 1000, reconnectionDelayMax: 30_000, randomizationFactor: 0.5, withCredentials: true };
  const socket: LiveSocket = opts.url ? io(opts.url, options) : io(options);
  const engine = state.engine;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let syncTimer: ReturnType<typeof setTimeout> | undefined;
  /** Increments at every subscribe: answers to an older one are ignored. */
  let generation = 0;
  let signature = '';
  /** Set when the watchdog drops the socket: the disconnect that follows says why. */
  let silentFor = 0;
  const watchdog = startWatchdog({
    silenceMs: opts.silenceMs ?? LIVE_SILENCE_MS,
    watching: () => !stopped && socket.connected && (state.link.status === 'live' || state.link.status === 'syncing'),
    onSilent(ms) {
      // Nothing heard while the link claims to be up: the path is gone without a close. Drop the
      // socket (the disconnect below shows `reconnecting` and retries) rather than trust it.
      silentFor = ms;
      socket.disconnect();
    },
  });
  const heard = () => watchdog.heard();

  const sig = (reqs: TileRequest[]) => JSON.stringify(reqs);

  function apply(event: LinkEvent) {
    if (stopped) return;
    const t = nextLink(state.link, event, Date.now());
    state.setLink(t.state);
    for (const a of t.actions) {
      if (a === 'drop-values') {
        engine.reset();
        clearTimeout(syncTimer);
      } else if (a === 'subscribe') subscribe();
      else if (a === 'schedule-retry' && !socket.active) {
        // socket.io leaves reconnecting to us when the server closed the socket or refused it.
        clearTimeout(retry);
        const attempt = t.state.status === 'reconnecting' ? t.state.attempt : 0;
        retry = setTimeout(() => {
          apply({ type: 'retry' });
          socket.connect();
        }, retryDelayMs(attempt));
      }
    }
    state.schedule();
  }

  function subscribe() {
    const reqs = target.requests(Date.now());
    signature = sig(reqs);
    engine.setTiles(reqs);
    const mine = ++generation;
    clearTimeout(syncTimer);
    syncTimer = setTimeout(() => {
      // No answer or no backfill in time: subscribe again rather than wait forever.
      if (mine === generation && state.link.status === 'syncing') apply({ type: 'gap' });
    }, opts.syncTimeoutMs ?? 60_000);
    if (reqs.length === 0) {
      apply({ type: 'synced' });
      return;
    }
    socket.emit('tiles:subscribe', { projectId: target.projectId, tiles: reqs }, (res: TilesSubscribeResult) => {
      heard();
      if (mine !== generation || stopped) return;
      if (!res.ok) {
        // A refusal of the tiles themselves cannot be fixed by retrying; anything else (rate limits, a node starting) can.
        if (res.code === 'invalid_body' || res.code === 'forbidden') apply({ type: 'refused', code: res.code, message: res.message });
        else {
          apply({ type: 'lost', detail: res.message });
          socket.disconnect();
        }
        return;
      }
      engine.accept(res.tiles);
      if (engine.synced) apply({ type: 'synced' });
      state.schedule();
    });
  }

  socket.on('connect', () => {
    heard();
    apply({ type: 'connected' });
  });
  socket.on('disconnect', (reason) => {
    if (reason === 'io client disconnect' && stopped) return;
    const detail = silentFor > 0 ? `no word from the server for ${Math.round(silentFor / 1000)} s` : reason;
    silentFor = 0;
    apply({ type: 'lost', detail });
  });
  socket.on('heartbeat', heard);
  socket.on('connect_error', (err: Error & { data?: LiveConnectError }) => {
    if (socket.active) apply({ type: 'lost', detail: err.message });
    else apply({ type: 'refused', code: err.data?.code ?? 'internal', message: err.data?.message ?? err.message });
  });
  socket.on('tiles:backfill', (b) => {
    heard();
    if (b.projectId !== target.projectId) return;
    engine.addBackfill(b);
    if (state.link.status === 'syncing' && engine.synced) {
      clearTimeout(syncTimer);
      apply({ type: 'synced' });
    }
    state.schedule();
  });
  socket.on('tick', (tick) => {
    heard();
    if (tick.projectId !== target.projectId) return;
    if (!engine.addTick(tick) && state.link.status === 'live') apply({ type: 'gap' });
    state.schedule();
  });
  socket.on('presence', (p) => {
    heard();
    if (p.projectId !== target.projectId) return;
    engine.setPresence(p);
    state.schedule();
  });

  // The browser knows about network loss before the socket does.
  const offline = () => apply({ type: 'offline' });
  const online = () => {
    if (socket.connected) apply({ type: 'connected' });
    else if (!socket.active) socket.connect();
  };
  globalThis.addEventListener?.('offline', offline);
  globalThis.addEventListener?.('online', online);

  // Windows slide and points fade while nothing arrives; "since 09:00" moves to the next day.
  const clock = setInterval(() => state.schedule(), 1000);
  const recheck = setInterval(() => {
    if (state.link.status !== 'live') return;
    if (sig(target.requests(Date.now())) !== signature) apply({ type: 'gap' });
  }, opts.recheckMs ?? 30_000);

  return () => {
    stopped = true;
    watchdog.stop();
    clearInterval(clock);
    clearInterval(recheck);
    clearTimeout(retry);
    clearTimeout(syncTimer);
    globalThis.removeEventListener?.('offline', offline);
    globalThis.removeEventListener?.('online', online);
    socket.removeAllListeners();
    socket.disconnect();
    state.dispose();
  };
}
