/**
 * A realistic, deterministic event stream for the query benchmark: `events` rows over `days`
 * days from a population of visitors with a power-law activity spread, each visit written the
 * way ingest and the reaper write it (session_start, page views and custom events, session_end,
 * a `sessions` row). Pages, sources, countries, devices and custom events follow skewed
 * distributions like a real site's; traffic has a daily and weekly rhythm and grows over the
 * period. Generated batch by batch, so 10 million rows never sit in memory at once.
 */
import { chTime, type EventRow, emptyBatch, type SessionRow, type WriteBatch } from '../shared/rows.ts';

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks from weighted choices with a cumulative table (binary search). */
function weighted<T>(items: Array<[T, number]>) {
  const cum: number[] = [];
  let sum = 0;
  for (const [, w] of items) {
    sum += w;
    cum.push(sum);
  }
  return (r: number): T => {
    const x = r * sum;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return items[lo]![0];
  };
}
const zipf = <T>(items: T[], s = 1.1) => weighted(items.map((x, i) => [x, 1 / (i + 1) ** s] as [T, number]));

const SECTIONS = ['docs', 'blog', 'guides', 'changelog', 'integrations'];
const PATHS = ['/', '/pricing', '/features', '/signup', '/login', '/about', '/contact', '/customers', '/security', '/careers'];
for (const s of SECTIONS) for (let i = 0; i < 58; i++) PATHS.push(`/${s}/${s === 'blog' ? `post-${i}` : `page-${i}`}`);
const pickPath = zipf(PATHS, 1.05);

const SOURCES: Array<[{ referrer: string; name: string; type: string }, number]> = [
  [{ referrer: '', name: '', type: '' }, 35],
  [{ referrer: 'https://www.google.com', name: 'Google', type: 'search' }, 30],
  [{ referrer: 'https://www.bing.com', name: 'Bing', type: 'search' }, 3],
  [{ referrer: 'https://duckduckgo.com', name: 'DuckDuckGo', type: 'search' }, 2],
  [{ referrer: 'https://t.co', name: 'Twitter', type: 'social' }, 5],
  [{ referrer: 'https://news.ycombinator.com', name: 'Hacker News', type: 'link' }, 3],
  [{ referrer: 'https://www.reddit.com', name: 'Reddit', type: 'social' }, 4],
  [{ referrer: 'https://www.linkedin.com', name: 'LinkedIn', type: 'social' }, 3],
  [{ referrer: 'https://www.facebook.com', name: 'Facebook', type: 'social' }, 3],
  [{ referrer: 'https://github.com', name: 'GitHub', type: 'link' }, 4],
  [{ referrer: '', name: 'newsletter', type: 'email' }, 5],
];
for (let i = 0; i < 200; i++) SOURCES.push([{ referrer: `https://blog${i}.example.org/post`, name: `blog${i}.example.org`, type: 'link' }, 3 / 200]);
const pickSource = weighted(SOURCES);
const CAMPAIGNS = Array.from({ length: 20 }, (_, i) => ({
  source: ['newsletter', 'google', 'twitter', 'partner'][i % 4]!,
  medium: ['email', 'cpc', 'social', 'referral'][i % 4]!,
  campaign: `campaign-${i}`,
}));
const pickCampaign = zipf(CAMPAIGNS, 0.8);

const COUNTRY_WEIGHTS: Array<[string, number]> = [
  ['US', 30],
  ['DE', 8],
  ['GB', 7],
  ['IN', 6],
  ['FR', 5],
  ['CA', 4],
  ['BR', 3.5],
  ['NL', 3],
  ['ES', 2.5],
  ['IT', 2.5],
  ['SE', 2],
  ['PL', 2],
  ['AU', 2],
  ['JP', 2],
  ['CN', 1.5],
];
for (const c of ['MX', 'AR', 'CH', 'AT', 'BE', 'DK', 'NO', 'FI', 'IE', 'PT', 'CZ', 'RO', 'HU', 'GR', 'TR', 'IL', 'ZA', 'NG', 'KE', 'EG'])
  COUNTRY_WEIGHTS.push([c, 0.6]);
for (const c of ['KR', 'SG', 'ID', 'TH', 'VN', 'PH', 'MY', 'NZ', 'CL', 'CO', 'PE', 'UA', 'RU', 'SA', 'AE', 'PK', 'BD', 'LK', 'HK', 'TW'])
  COUNTRY_WEIGHTS.push([c, 0.3]);
const pickCountry = weighted(COUNTRY_WEIGHTS);
const DEVICES = weighted<[string, string, string]>([
  [['desktop', 'Windows', 'Chrome'], 28],
  [['desktop', 'Mac OS', 'Chrome'], 12],
  [['desktop', 'Mac OS', 'Safari'], 7],
  [['desktop', 'Windows', 'Edge'], 6],
  [['desktop', 'Windows', 'Firefox'], 4],
  [['desktop', 'Linux', 'Firefox'], 2],
  [['mobile', 'iOS', 'Mobile Safari'], 17],
  [['mobile', 'Android', 'Chrome'], 17],
  [['mobile', 'Android', 'Samsung Browser'], 3],
  [['tablet', 'iOS', 'Mobile Safari'], 3],
  [['tablet', 'Android', 'Chrome'], 1],
]);
const CUSTOM = weighted<string>([
  ['click', 40],
  ['search', 15],
  ['signup', 5],
  ['purchase', 2],
  ['add_to_cart', 8],
  ['video_play', 10],
  ['download', 6],
  ['share', 4],
  ['form_submit', 6],
  ['error', 4],
]);

export interface StreamOptions {
  /** Approximate event rows to write (session_start/session_end included). */
  events: number;
  days: number;
  visitors: number;
  /** The last day of data (UTC midnight after it; default: today). */
  end?: number;
  seed?: number;
  projectId: string;
  /** Rows per yielded batch. */
  batchRows?: number;
}

/** Average rows one visit writes here (start + ~3 views + ~0.5 custom events + end), measured. */
const ROWS_PER_VISIT = 5.46;

/** The stream, as write batches in time order, until about `events` event rows. */
export function* visitStream(o: StreamOptions): Generator<WriteBatch> {
  const r = rng(o.seed ?? 42);
  const end = o.end ?? Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1);
  const start = end - o.days * 86_400_000;
  const visits = Math.round(o.events / ROWS_PER_VISIT);
  // Visitors: power-law activity (a few come back daily, most once or twice).
  const visitorOf = zipf(
    Array.from({ length: o.visitors }, (_, i) => i),
    0.7,
  );
  const attrs = new Map<number, { country: string; device: [string, string, string]; profile: string }>();
  const visitor = (v: number) => {
    let a = attrs.get(v);
    if (!a) {
      const vr = rng(v * 7919 + 1);
      a = { country: pickCountry(vr()), device: DEVICES(vr()), profile: vr() < 0.1 ? `user-${v}` : '' };
      attrs.set(v, a);
    }
    return a;
  };
  const batchRows = o.batchRows ?? 100_000;
  let batch = emptyBatch();
  let seq = 0;
  for (let i = 0; i < visits; i++) {
    // Time: denser towards the end (traffic grows 2x over the period: density 1 + x, inverse
    // CDF √(1 + 3u) − 1), with a daily rhythm (peak 16:00 UTC) and quieter weekends.
    let t: number;
    for (;;) {
      t = start + (Math.sqrt(1 + 3 * r()) - 1) * (end - start);
      const hour = new Date(t).getUTCHours();
      const dow = new Date(t).getUTCDay();
      const accept = (0.35 + 0.65 * Math.exp(-(((hour - 16) / 5) ** 2))) * (dow === 0 || dow === 6 ? 0.7 : 1);
      if (r() < accept) break;
    }
    t = Math.floor(Math.min(t, end - 3_600_000));
    const v = visitorOf(r());
    const a = visitor(v);
    const device = `dev-${v}`;
    const sid = `s-${o.seed ?? 42}-${i}`;
    const src = pickSource(r());
    const camp = r() < 0.15 ? pickCampaign(r()) : undefined;
    const [devType, os, browser] = a.device;
    const views = Math.max(1, Math.round(-Math.log(1 - r()) * 2.6));
    const customs = r() < 0.35 ? 1 + Math.floor(r() * 3) : 0;
    const base = {
      project_id: o.projectId,
      device_id: device,
      profile_id: a.profile,
      session_id: sid,
      origin: 'https://www.example.com',
      country: a.country,
      region: `${a.country}-R${v % 5}`,
      city: `${a.country}-C${v % 23}`,
      latitude: null,
      longitude: null,
      os,
      os_version: os === 'iOS' ? '17.4' : os === 'Android' ? '14' : '',
      browser,
      browser_version: '124.0',
      device: devType,
      brand: devType === 'desktop' ? '' : os === 'iOS' ? 'Apple' : 'Samsung',
      model: devType === 'desktop' ? '' : os === 'iOS' ? (devType === 'tablet' ? 'iPad' : 'iPhone') : 'SM-S918B',
      sdk_name: 'web',
      sdk_version: '1.4.1',
    };
    const sessionCtx = {
      referrer: src.referrer,
      referrer_name: camp && !src.name ? camp.source : src.name,
      referrer_type: camp && !src.name ? 'unknown' : src.type,
      utm_source: camp?.source ?? '',
      utm_medium: camp?.medium ?? '',
      utm_campaign: camp?.campaign ?? '',
      utm_term: '',
      utm_content: '',
    };
    const none = { referrer: '', referrer_name: '', referrer_type: '', utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '' };
    // An explicit literal: spreading ~40 properties per row was 50 µs a row (V8's slow path).
    const row = (name: string, at: number, path: string, c: typeof none, props: Record<string, string> = {}, revenue = 0, duration = 0): EventRow => ({
      id: uuid(seq++, o.seed ?? 42),
      project_id: base.project_id,
      name,
      device_id: base.device_id,
      profile_id: base.profile_id,
      session_id: base.session_id,
      created_at: chTime(at),
      received_at: chTime(at),
      path,
      origin: base.origin,
      title: '',
      referrer: c.referrer,
      referrer_name: c.referrer_name,
      referrer_type: c.referrer_type,
      utm_source: c.utm_source,
      utm_medium: c.utm_medium,
      utm_campaign: c.utm_campaign,
      utm_term: c.utm_term,
      utm_content: c.utm_content,
      revenue,
      duration,
      properties: props,
      groups: [],
      country: base.country,
      region: base.region,
      city: base.city,
      latitude: null,
      longitude: null,
      os: base.os,
      os_version: base.os_version,
      browser: base.browser,
      browser_version: base.browser_version,
      device: base.device,
      brand: base.brand,
      model: base.model,
      sdk_name: base.sdk_name,
      sdk_version: base.sdk_version,
    });
    let at = t;
    const entry = pickPath(r());
    let path = entry;
    const rows: EventRow[] = [row('session_start', at - 1, entry, sessionCtx)];
    let revenue = 0;
    for (let k = 0; k < views; k++) {
      if (k > 0) {
        at += 5_000 + Math.floor(r() * 90_000);
        path = pickPath(r());
      }
      rows.push(row('screen_view', at, path, k === 0 ? sessionCtx : none));
    }
    for (let k = 0; k < customs; k++) {
      at += 2_000 + Math.floor(r() * 30_000);
      const name = CUSTOM(r());
      const props: Record<string, string> =
        name === 'purchase' || name === 'signup'
          ? { plan: ['free', 'pro', 'team', 'enterprise'][Math.floor(r() * 4)]!, amount: String(10 + Math.floor(r() * 190)) }
          : name === 'click'
            ? { button: ['cta', 'nav', 'footer', 'pricing'][Math.floor(r() * 4)]! }
            : {};
      const rev = name === 'purchase' ? 1000 + Math.floor(r() * 20_000) : 0;
      revenue += rev;
      rows.push(row(name, at, path, none, props, rev));
    }
    const duration = at - t;
    rows.push(row('session_end', at, path, sessionCtx, {}, 0, duration));
    const session: SessionRow = {
      id: sid,
      project_id: o.projectId,
      device_id: device,
      profile_id: a.profile,
      created_at: chTime(t),
      ended_at: chTime(at),
      duration,
      event_count: views + customs,
      screen_view_count: views,
      is_bounce: views + customs <= 1 ? 1 : 0,
      entry_path: entry,
      entry_origin: base.origin,
      exit_path: path,
      exit_origin: base.origin,
      ...sessionCtx,
      revenue,
      country: base.country,
      region: base.region,
      city: base.city,
      os,
      os_version: base.os_version,
      browser,
      browser_version: base.browser_version,
      device: devType,
      brand: base.brand,
      model: base.model,
    };
    batch.events.push(...rows);
    batch.sessions.push(session);
    if (batch.events.length >= batchRows) {
      yield batch;
      batch = emptyBatch();
    }
  }
  if (batch.events.length > 0) yield batch;
}

/** A v4-shaped UUID from a sequence number (stable across runs). */
function uuid(n: number, seed: number): string {
  const h = (n >>> 0).toString(16).padStart(8, '0');
  const s = (seed >>> 0).toString(16).padStart(4, '0').slice(-4);
  const hi = Math.floor(n / 2 ** 32)
    .toString(16)
    .padStart(12, '0');
  return `${h}-${s}-4000-8000-${hi}`;
}
