/**
 * A small data set whose answers are known by construction, for the query-model tests: six
 * visits of four devices around 1–4 May 2024 (one the week before, for comparisons; one that
 * starts at 22:30 UTC — after midnight in Berlin — for the time-zone day boundary; one still
 * open, so it has no `sessions` row). Each visit is written the way ingest writes it: a
 * `session_start` row copying the first event's context, the events, and — once ended — a
 * `session_end` event and a `sessions` row. Test support only.
 */
import { randomUUID } from 'node:crypto';
import { blankEventRow, chTime, type EventRow, emptyBatch, type SessionRow, type WriteBatch } from '../../shared/rows.ts';

export const PROJECT = 'proj_stats';

interface Step {
  at: number; // seconds after the visit starts
  name: string;
  path: string;
  props?: Record<string, string>;
  revenue?: number;
}

interface Visit {
  id: string;
  device: string;
  profile?: string;
  start: string; // ISO UTC
  referrer: string;
  referrerName: string;
  referrerType: string;
  utm?: { source: string; medium: string; campaign: string };
  country: string;
  browser: string;
  device_type: string;
  os: string;
  steps: Step[];
  /** Still open: no session_end, no sessions row. */
  open?: boolean;
}

const v = (path: string, at = 0): Step => ({ at, name: 'screen_view', path });

export const VISITS: Visit[] = [
  {
    id: 's0',
    device: 'd9',
    start: '2024-04-29T12:00:00Z',
    referrer: 'https://www.google.com',
    referrerName: 'Google',
    referrerType: 'search',
    country: 'DE',
    browser: 'Chrome',
    device_type: 'desktop',
    os: 'Windows',
    steps: [v('/')],
  },
  {
    id: 's1',
    device: 'd1',
    start: '2024-05-01T10:00:00Z',
    referrer: 'https://www.google.com',
    referrerName: 'Google',
    referrerType: 'search',
    country: 'DE',
    browser: 'Chrome',
    device_type: 'desktop',
    os: 'Mac OS',
    steps: [v('/'), v('/pricing', 60), { at: 120, name: 'signup', path: '/pricing', props: { plan: 'pro', amount: '30' } }],
  },
  {
    id: 's2',
    device: 'd2',
    start: '2024-05-01T22:30:00Z',
    referrer: '',
    referrerName: '',
    referrerType: '',
    country: 'US',
    browser: 'Firefox',
    device_type: 'mobile',
    os: 'Android',
    steps: [v('/')],
  },
  {
    id: 's3',
    device: 'd1',
    profile: 'u1',
    start: '2024-05-02T09:00:00Z',
    referrer: 'https://news.ycombinator.com',
    referrerName: 'Hacker News',
    referrerType: 'link',
    utm: { source: 'hn', medium: 'social', campaign: 'launch' },
    country: 'DE',
    browser: 'Chrome',
    device_type: 'desktop',
    os: 'Mac OS',
    steps: [v('/blog'), v('/pricing', 200), { at: 300, name: 'purchase', path: '/pricing', props: { plan: 'team', amount: '50' }, revenue: 4999 }],
  },
  {
    id: 's4',
    device: 'd3',
    start: '2024-05-03T12:00:00Z',
    referrer: 'https://www.google.fr',
    referrerName: 'Google',
    referrerType: 'search',
    country: 'FR',
    browser: 'Safari',
    device_type: 'mobile',
    os: 'iOS',
    steps: [v('/'), { at: 30, name: 'click', path: '/', props: { button: 'cta' } }],
  },
  {
    id: 's5',
    device: 'd4',
    start: '2024-05-03T23:59:59Z',
    referrer: '',
    referrerName: '',
    referrerType: '',
    country: 'US',
    browser: 'Chrome',
    device_type: 'desktop',
    os: 'Windows',
    steps: [v('/docs')],
    open: true,
  },
];

/** The profile of `u1` (for profile:props). */
export const PROFILE = { project_id: PROJECT, profile_id: 'u1', properties: { tier: 'premium' } };

/** Every row of one visit, as ingest and the reaper would write them. */
export function visitRows(visit: Visit, project = PROJECT): { events: EventRow[]; session?: SessionRow } {
  const t0 = Date.parse(visit.start);
  const base = (over: Partial<EventRow>): EventRow => {
    const at = over.created_at ?? chTime(t0);
    return blankEventRow({
      id: randomUUID(),
      project_id: project,
      device_id: visit.device,
      profile_id: visit.profile ?? '',
      session_id: visit.id,
      created_at: at,
      received_at: at,
      origin: 'https://example.com',
      country: visit.country,
      browser: visit.browser,
      device: visit.device_type,
      os: visit.os,
      ...over,
    });
  };
  const first = visit.steps[0]!;
  const session = {
    referrer: visit.referrer,
    referrer_name: visit.referrerName,
    referrer_type: visit.referrerType,
    utm_source: visit.utm?.source ?? '',
    utm_medium: visit.utm?.medium ?? '',
    utm_campaign: visit.utm?.campaign ?? '',
  };
  const events: EventRow[] = [base({ name: 'session_start', path: first.path, created_at: chTime(t0 - 1), ...session })];
  for (const [i, s] of visit.steps.entries()) {
    // Like ingest: the first event carries the referrer and campaign, later ones their own (none).
    const ctx = i === 0 ? session : {};
    events.push(base({ name: s.name, path: s.path, created_at: chTime(t0 + s.at * 1000), properties: s.props ?? {}, revenue: s.revenue ?? 0, ...ctx }));
  }
  if (visit.open) return { events };
  const last = visit.steps[visit.steps.length - 1]!;
  const duration = last.at * 1000;
  const views = visit.steps.filter((s) => s.name === 'screen_view').length;
  events.push(base({ name: 'session_end', path: last.path, created_at: chTime(t0 + duration), duration, ...session }));
  const row: SessionRow = {
    id: visit.id,
    project_id: project,
    device_id: visit.device,
    profile_id: visit.profile ?? '',
    created_at: chTime(t0),
    ended_at: chTime(t0 + duration),
    duration,
    event_count: visit.steps.length,
    screen_view_count: views,
    is_bounce: visit.steps.length <= 1 ? 1 : 0,
    entry_path: first.path,
    entry_origin: 'https://example.com',
    exit_path: last.path,
    exit_origin: 'https://example.com',
    ...session,
    utm_term: '',
    utm_content: '',
    revenue: visit.steps.reduce((n, s) => n + (s.revenue ?? 0), 0),
    country: visit.country,
    region: '',
    city: '',
    os: visit.os,
    os_version: '',
    browser: visit.browser,
    browser_version: '',
    device: visit.device_type,
    brand: '',
    model: '',
  };
  return { events, session: row };
}

/** The whole data set as one write batch (plus the profile op giving u1 its tier). */
export function statsBatch(project = PROJECT): WriteBatch {
  const batch = emptyBatch();
  for (const visit of VISITS) {
    const { events, session } = visitRows(visit, project);
    batch.events.push(...events);
    if (session) batch.sessions.push(session);
  }
  batch.profiles.push({
    op: 'identify',
    project_id: project,
    profile_id: 'u1',
    at: '2024-05-02 09:00:00.000',
    email: 'u1@example.com',
    properties: { tier: 'premium' },
  });
  return batch;
}
