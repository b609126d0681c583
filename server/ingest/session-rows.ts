/**
 * Turns sessions into rows: the `session_start` event written beside a session's first
 * event, and the `sessions` row plus `session_end` event written once when it closes.
 * Used by the session step (a hit finding an expired session) and the session reaper.
 */
import { chTime, type EventRow, type SessionRow } from '../../shared/rows.ts';
import { RESERVED_EVENTS } from '../../shared/track.ts';
import type { OpenSession } from '../engines/sessions.ts';
import { eventId } from './event-id.ts';

/** A new session seeded from the enriched row of its first event. */
export function seedSession(row: EventRow, at: number): OpenSession {
  return {
    // Held as long as the session is open: one flat string. randomUUID()'s answer is a tree of
    // ≈ 15 cons strings in V8, ≈ 490 B of heap for 36 characters (docs/benchmarks.md).
    id: eventId(),
    projectId: row.project_id,
    deviceId: row.device_id,
    profileId: row.profile_id,
    startedAt: at,
    lastSeenAt: at,
    keepAliveUntil: 0,
    eventCount: 1,
    screenViewCount: row.name === RESERVED_EVENTS.screenView ? 1 : 0,
    revenue: row.revenue,
    entryPath: row.path,
    entryOrigin: row.origin,
    exitPath: row.path,
    exitOrigin: row.origin,
    referrer: row.referrer,
    referrerName: row.referrer_name,
    referrerType: row.referrer_type,
    utmSource: row.utm_source,
    utmMedium: row.utm_medium,
    utmCampaign: row.utm_campaign,
    utmTerm: row.utm_term,
    utmContent: row.utm_content,
    country: row.country,
    region: row.region,
    city: row.city,
    os: row.os,
    osVersion: row.os_version,
    browser: row.browser,
    browserVersion: row.browser_version,
    device: row.device,
    brand: row.brand,
    model: row.model,
  };
}

/** The `session_start` event: the first event's context, one millisecond before it. */
export function sessionStartEvent(first: EventRow, at: number): EventRow {
  return { ...first, id: eventId(), name: RESERVED_EVENTS.sessionStart, created_at: chTime(at - 1), properties: {}, revenue: 0, duration: 0 };
}

/** When a closed session is considered to have ended: its last event. */
function endedAt(s: OpenSession): number {
  return Math.max(s.lastSeenAt, Math.min(s.keepAliveUntil, s.lastSeenAt + 24 * 3600_000));
}

export function sessionRow(s: OpenSession): SessionRow {
  const end = endedAt(s);
  return {
    id: s.id,
    project_id: s.projectId,
    device_id: s.deviceId,
    profile_id: s.profileId,
    created_at: chTime(s.startedAt),
    ended_at: chTime(end),
    duration: Math.max(0, end - s.startedAt),
    event_count: s.eventCount,
    screen_view_count: s.screenViewCount,
    is_bounce: s.screenViewCount <= 1 && s.eventCount <= 1 ? 1 : 0,
    entry_path: s.entryPath,
    entry_origin: s.entryOrigin,
    exit_path: s.exitPath,
    exit_origin: s.exitOrigin,
    referrer: s.referrer,
    referrer_name: s.referrerName,
    referrer_type: s.referrerType,
    utm_source: s.utmSource,
    utm_medium: s.utmMedium,
    utm_campaign: s.utmCampaign,
    utm_term: s.utmTerm,
    utm_content: s.utmContent,
    revenue: s.revenue,
    country: s.country,
    region: s.region,
    city: s.city,
    os: s.os,
    os_version: s.osVersion,
    browser: s.browser,
    browser_version: s.browserVersion,
    device: s.device,
    brand: s.brand,
    model: s.model,
  };
}

/** The `session_end` event, stamped at the session's end, carrying its duration. */
export function sessionEndEvent(s: OpenSession): EventRow {
  const end = endedAt(s);
  return {
    id: eventId(),
    project_id: s.projectId,
    name: RESERVED_EVENTS.sessionEnd,
    device_id: s.deviceId,
    profile_id: s.profileId,
    session_id: s.id,
    created_at: chTime(end),
    received_at: chTime(Date.now()),
    path: s.exitPath,
    origin: s.exitOrigin,
    title: '',
    referrer: s.referrer,
    referrer_name: s.referrerName,
    referrer_type: s.referrerType,
    utm_source: s.utmSource,
    utm_medium: s.utmMedium,
    utm_campaign: s.utmCampaign,
    utm_term: s.utmTerm,
    utm_content: s.utmContent,
    revenue: 0,
    duration: Math.max(0, end - s.startedAt),
    properties: {},
    groups: [],
    country: s.country,
    region: s.region,
    city: s.city,
    latitude: null,
    longitude: null,
    os: s.os,
    os_version: s.osVersion,
    browser: s.browser,
    browser_version: s.browserVersion,
    device: s.device,
    brand: s.brand,
    model: s.model,
    sdk_name: '',
    sdk_version: '',
  };
}
