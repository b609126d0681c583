/**
 * The live link's state machine, kept apart from sockets so it can be tested step by step.
 * What a screen may claim follows from it: only `live` shows numbers as current. After any
 * loss (network, server restart, a tick lost on the way, the browser going offline) the screen
 * shows `reconnecting`, drops what it had, and goes through `syncing` (subscribed, waiting for
 * the backfill) before it is `live` again — so a TV never shows stale numbers as live.
 *
 *   connecting ─connected→ syncing ─synced→ live
 *        ↑                    │ lost / gap    │ lost / gap / offline
 *        └──── retry ── reconnecting ←────────┘
 *   any ─refused(credentials)→ refused (stops: nothing a retry can fix)
 */

export type LinkStatus = 'connecting' | 'syncing' | 'live' | 'reconnecting' | 'refused';

export type LinkState =
  | { status: 'connecting' }
  | { status: 'syncing' }
  | { status: 'live'; since: number }
  /** `attempt` counts retries since the last time it was live; `detail` says why, for the tooltip. */
  | { status: 'reconnecting'; detail: string; attempt: number; since: number }
  | { status: 'refused'; code: string; message: string };

export type LinkEvent =
  | { type: 'connected' }
  | { type: 'synced' }
  | { type: 'lost'; detail: string }
  /** A tick sequence jumped: something was lost on the way; re-sync without dropping the socket. */
  | { type: 'gap' }
  | { type: 'offline' }
  | { type: 'refused'; code: string; message: string }
  /** A retry is starting (socket.io's own or ours). */
  | { type: 'retry' };

/** What the driver must do after a transition. */
export type LinkAction = 'subscribe' | 'drop-values' | 'schedule-retry';

export interface Transition {
  state: LinkState;
  actions: LinkAction[];
}

/** Refusals no retry can fix (shared/errors.ts codes): the screen asks for new credentials. */
export const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  'invalid_body',
  'unknown_client',
  'client_disabled',
  'bad_secret',
  'forbidden',
  'not_signed_in',
  'not_found',
  'expired',
  'password_required',
]);

export const INITIAL_LINK: LinkState = { status: 'connecting' };

export function nextLink(state: LinkState, event: LinkEvent, now: number): Transition {
  if (state.status === 'refused') return { state, actions: [] }; // final until the page starts over
  switch (event.type) {
    case 'connected':
      return { state: { status: 'syncing' }, actions: ['drop-values', 'subscribe'] };
    case 'synced':
      return state.status === 'syncing' ? { state: { status: 'live', since: now }, actions: [] } : { state, actions: [] };
    case 'gap':
      // Still connected: drop what may be wrong and subscribe again (new watermark, new backfill).
      return state.status === 'live' || state.status === 'syncing'
        ? { state: { status: 'syncing' }, actions: ['drop-values', 'subscribe'] }
        : { state, actions: [] };
    case 'lost':
    case 'offline': {
      const detail = event.type === 'offline' ? 'this device is offline' : event.detail;
      const attempt = state.status === 'reconnecting' ? state.attempt : 0;
      const since = state.status === 'reconnecting' ? state.since : now;
      return { state: { status: 'reconnecting', detail, attempt, since }, actions: ['drop-values', 'schedule-retry'] };
    }
    case 'retry':
      return state.status === 'reconnecting' ? { state: { ...state, attempt: state.attempt + 1 }, actions: [] } : { state, actions: [] };
    case 'refused':
      if (CREDENTIAL_ERRORS.has(event.code)) return { state: { status: 'refused', code: event.code, message: event.message }, actions: ['drop-values'] };
      return nextLink(state, { type: 'lost', detail: event.message }, now);
  }
}

/**
 * Delay before retry `attempt` (0-based): exponential from 1 s, capped at 30 s, with ±20 %
 * jitter so a room of TVs does not reconnect in lockstep after a server restart.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** True when numbers may be shown as current. */
export const isLive = (s: LinkState) => s.status === 'live';
