/**
 * Turns one enriched draft into the rows it writes, by payload type: a `track` becomes an
 * event (plus `session_start`, and the rows of a session it closed in passing); `identify`,
 * `increment`, `decrement` and `assign_group` become profile changes; `group` a group row;
 * `replay` a replay chunk attached to the device's open session.
 */

import type { z } from 'zod';
import { chTime, type WriteBatch } from '../../shared/rows.ts';
import type { ReplayPayload } from '../../shared/track.ts';
import type { OpenSession, SessionStore } from '../engines/sessions.ts';
import { sessionEndEvent, sessionRow, sessionStartEvent } from './session-rows.ts';
import { parseTimestamp } from './steps/normalize.ts';
import { MAX_FUTURE_SKEW_MS } from './steps/timestamp.ts';
import type { Draft } from './types.ts';

/**
 * Synchronous for every type but `replay` (which reads the open session): the caller awaits
 * only a returned promise, so a `track` event costs no promise and no microtask turn here.
 */
export function toRows(d: Draft, into: WriteBatch, sessions: SessionStore): void | Promise<void> {
  const { body, row } = d;
  const at = row.created_at;
  switch (body.type) {
    case 'track':
      if (d.closedSession) closedRows(d.closedSession, into);
      if (d.evictedSessions) for (const s of d.evictedSessions) closedRows(s, into);
      if (d.sessionStarted) into.events.push(sessionStartEvent(row, d.at));
      if (body.payload.groups) row.groups = body.payload.groups; // else the row's own empty list
      into.events.push(row);
      return;
    case 'identify': {
      const p = body.payload;
      const base = { project_id: row.project_id, at };
      into.profiles.push({
        op: 'identify',
        ...base,
        profile_id: row.profile_id,
        first_name: p.firstName,
        last_name: p.lastName,
        email: p.email,
        avatar: p.avatar,
        properties: row.properties,
      });
      return;
    }
    case 'increment':
    case 'decrement': {
      const base = { project_id: row.project_id, at };
      const by = body.payload.value ?? 1;
      into.profiles.push({ op: 'increment', ...base, profile_id: row.profile_id, property: body.payload.property, by: body.type === 'increment' ? by : -by });
      return;
    }
    case 'assign_group':
      into.profiles.push({ op: 'assign_groups', project_id: row.project_id, at, profile_id: row.profile_id || row.device_id, groups: body.payload.groupIds });
      return;
    case 'group': {
      const p = body.payload;
      into.groups.push({ project_id: row.project_id, id: p.id, type: p.type ?? '', name: p.name ?? '', properties: row.properties, updated_at: at });
      return;
    }
    case 'replay':
      return replayRow(d, body.payload, into, sessions);
  }
}

/** The rows of a session closed in passing: the session and its `session_end` event. */
function closedRows(s: OpenSession, into: WriteBatch): void {
  into.sessions.push(sessionRow(s));
  into.events.push(sessionEndEvent(s));
}

async function replayRow(d: Draft, p: z.infer<typeof ReplayPayload>, into: WriteBatch, sessions: SessionStore): Promise<void> {
  const { row } = d;
  const open = await sessions.get(row.project_id, row.device_id);
  into.replays.push({
    project_id: row.project_id,
    session_id: open?.id ?? '',
    device_id: row.device_id,
    chunk_index: p.chunk_index,
    started_at: toChTime(p.started_at, d.at, d.request.receivedAt),
    ended_at: toChTime(p.ended_at, d.at, d.request.receivedAt),
    events_count: p.events_count,
    is_full_snapshot: p.is_full_snapshot ? 1 : 0,
    payload: p.payload,
  });
}

/**
 * A replay chunk's time, by the same rule as an event's (`__timestamp`, timestamp step): an
 * unreadable time, or one past the clock-skew allowance, is the event's own time.
 */
function toChTime(iso: string, fallback: number, receivedAt: number): string {
  const t = parseTimestamp(iso);
  return chTime(t === undefined || t > receivedAt + MAX_FUTURE_SKEW_MS ? fallback : t);
}
