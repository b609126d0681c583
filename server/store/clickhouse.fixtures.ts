/**
 * Deterministic rows for ClickHouse tests and the insert benchmark: realistic widths (29+
 * columns, a few properties, groups, coordinates) and awkward values on request. Test support
 * only; nothing in the server imports it.
 */
import type { EventRow, SessionRow } from '../../shared/rows.ts';
import { chTime } from '../../shared/rows.ts';

/** A v4-shaped UUID derived from `n` (stable across runs). */
export function fixtureUuid(n: number): string {
  const h = (n >>> 0).toString(16).padStart(8, '0');
  const l = Math.floor(n / 2 ** 32)
    .toString(16)
    .padStart(12, '0');
  return `${h}-0000-4000-8000-${l}`;
}

const NAMES = ['screen_view', 'click', 'signup', 'purchase', 'session_start'];
const PATHS = ['/', '/pricing', '/docs/getting-started', '/blog/realtime-analytics', '/signup'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge'];

/** Event number `i`; `over` replaces fields. Spread over devices, sessions and hours. */
export function makeEvent(i: number, over: Partial<EventRow> = {}, base = Date.UTC(2024, 4, 1, 8)): EventRow {
  const t = base + i * 997;
  return {
    id: fixtureUuid(i + 1),
    project_id: 'proj_a',
    name: NAMES[i % NAMES.length]!,
    device_id: `dev_${i % 937}`,
    profile_id: i % 3 === 0 ? `user_${i % 211}` : '',
    session_id: `ses_${i % 1601}`,
    created_at: chTime(t),
    received_at: chTime(t + 35),
    path: PATHS[i % PATHS.length]!,
    origin: 'https://example.com',
    title: `Example page ${i % 17}`,
    referrer: i % 4 === 0 ? 'https://www.google.com/' : '',
    referrer_name: i % 4 === 0 ? 'Google' : '',
    referrer_type: i % 4 === 0 ? 'search' : '',
    utm_source: i % 5 === 0 ? 'newsletter' : '',
    utm_medium: i % 5 === 0 ? 'email' : '',
    utm_campaign: i % 5 === 0 ? 'may' : '',
    utm_term: '',
    utm_content: '',
    revenue: i % 50 === 0 ? 1999 : 0,
    duration: (i * 37) % 60_000,
    properties: { plan: i % 2 ? 'pro' : 'free', 'cart.items': String(i % 7), variant: `v${i % 3}` },
    groups: i % 10 === 0 ? ['org_1', `team_${i % 4}`] : [],
    country: 'DE',
    region: 'Berlin',
    city: 'Berlin',
    latitude: 52.520008,
    longitude: 13.404954,
    os: 'Mac OS',
    os_version: '14.4',
    browser: BROWSERS[i % BROWSERS.length]!,
    browser_version: '124.0',
    device: 'desktop',
    brand: 'Apple',
    model: 'Macintosh',
    sdk_name: 'livepanel-web',
    sdk_version: '0.1.0',
    ...over,
  };
}

/** `n` events starting at event number `from`. */
export function makeEvents(n: number, from = 0, over: Partial<EventRow> = {}): EventRow[] {
  return Array.from({ length: n }, (_, k) => makeEvent(from + k, over));
}

/** A closed session; `over` replaces fields. */
export function makeSession(id: string, over: Partial<SessionRow> = {}): SessionRow {
  return {
    id,
    project_id: 'proj_a',
    device_id: 'dev_1',
    profile_id: '',
    created_at: '2024-05-01 08:00:00.000',
    ended_at: '2024-05-01 08:10:00.250',
    duration: 600_250,
    event_count: 12,
    screen_view_count: 5,
    is_bounce: 0,
    entry_path: '/',
    entry_origin: 'https://example.com',
    exit_path: '/pricing',
    exit_origin: 'https://example.com',
    referrer: 'https://www.google.com/',
    referrer_name: 'Google',
    referrer_type: 'search',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_term: '',
    utm_content: '',
    revenue: 0,
    country: 'DE',
    region: 'Berlin',
    city: 'Berlin',
    os: 'Mac OS',
    os_version: '14.4',
    browser: 'Firefox',
    browser_version: '125.0',
    device: 'desktop',
    brand: 'Apple',
    model: 'Macintosh',
    ...over,
  };
}
