/**
 * Types shared by the ingest pipeline's steps. A `Draft` is one incoming event on its way to
 * becoming rows: the validated body, the request it came with, and the event row being filled
 * in. A step returns the draft (possibly changed) or a `Dropped` value — dropping is an
 * expected outcome, not an error.
 */
import type { DropReason } from '../../shared/drop-reasons.ts';
import type { EventRow } from '../../shared/rows.ts';
import type { TrackBody } from '../../shared/track.ts';
import type { Caller } from '../auth/clients.ts';
import type { OpenSession } from '../engines/sessions.ts';

/** Who sent the request, as established by the auth module (`server/auth/clients.ts`). */
export type { Caller };

/** Facts about the request an event arrived in (one per HTTP request or socket). */
export interface RequestInfo {
  /** Client IP after trusted-proxy rules; never stored. */
  ip: string;
  userAgent: string;
  origin: string;
  sdkName: string;
  sdkVersion: string;
  /** Stable device id an SDK socket announced, if any. */
  deviceId?: string;
  /** Server time the request arrived (ms). */
  receivedAt: number;
}

export interface Draft {
  caller: Caller;
  request: RequestInfo;
  body: TrackBody;
  /** Client-made id for idempotent resends (`/batch`, `/ws`). */
  clientEventId?: string;
  /** Raw properties (magic `__` keys removed by the normalize step). */
  properties: Record<string, unknown>;
  /** Effective IP and UA for enrichment (may be overridden by `__ip` / `__userAgent`). */
  ip: string;
  userAgent: string;
  /** Event time (ms) after clamping. */
  at: number;
  /** True for server-side SDK events: they never open sessions. */
  serverSide: boolean;
  /** The event row being built; every step fills its own columns. */
  row: EventRow;
  /** Device id the SDK supplied for this one event (`__deviceId`); wins over every other source. */
  sdkDeviceId?: string;
  /** Device id computed with the previous day's salt, so sessions survive the midnight rotation. */
  previousDeviceId?: string;
  /** Set by the session step when this event opened a session. */
  sessionStarted?: boolean;
  /** Set by the session step when it found this device's previous session expired. */
  closedSession?: OpenSession;
  /** Sessions the store closed to stay within its bounds while opening this event's; written with it. */
  evictedSessions?: OpenSession[];
}

export interface Dropped {
  dropped: DropReason;
}

export const isDropped = (r: Draft | Dropped): r is Dropped => 'dropped' in r;

export type StepResult = Draft | Dropped | Promise<Draft | Dropped>;

/** A named pipeline step. Names label metrics, so keep them short and stable. */
export interface Step {
  name: string;
  run(draft: Draft): StepResult;
}
