/**
 * User-agent step: operating system, browser and device from the visitor's user agent with
 * ua-parser-js 1.x (MIT; 2.x is AGPL and must not be used), memoised in a cache keyed
 * by the UA string — a site sees a few thousand distinct agents, and a parse costs ≈ 40 µs.
 *
 * It also decides whether an event is server-side (`draft.serverSide`, device 'server'),
 * which keeps it out of sessions: an agent in which nothing is recognised (no OS, browser or
 * device — `node/1.0`, `curl/8.4.0`, `Go-http-client/1.1`, `Apache-HttpClient/4.5 (Java/17)`),
 * or a bare `name/version` token, or an empty agent from a caller that proved its secret.
 * An empty agent from a browser client stays a visitor with unknown device ('').
 * Runs after the bots step, so crawlers never reach the cache.
 */

import UAParser from 'ua-parser-js';
import type { EventRow } from '../../../shared/rows.ts';
import { createRecentMap, type RecentMap } from '../../engines/recent-map.ts';
import type { Step } from '../types.ts';

/** Device classes written to `row.device`; '' when the agent says nothing at all. */
export const DEVICE_TYPES = ['desktop', 'mobile', 'tablet', 'smarttv', 'console', 'wearable', 'embedded', 'server'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** The row columns this step fills. */
export type UserAgentInfo = Pick<EventRow, 'os' | 'os_version' | 'browser' | 'browser_version' | 'device' | 'brand' | 'model'>;

/** ua-parser-js 1.x reads at most 500 characters; longer keys would only bloat the cache. */
const MAX_UA_LENGTH = 500;
const SINGLE_TOKEN = /^[^\s/]+\/[\w.+-]+$/;
const KNOWN_DEVICE: ReadonlySet<string> = new Set(DEVICE_TYPES);

const SERVER: UserAgentInfo & { server: true } = Object.freeze({
  os: '',
  os_version: '',
  browser: '',
  browser_version: '',
  device: 'server',
  brand: '',
  model: '',
  server: true as const,
});

/** One parsed agent: the row columns plus whether it is a server's. */
export type ParsedUserAgent = UserAgentInfo & { server: boolean };
type Parsed = ParsedUserAgent;

/** Parses one user agent (no cache). Exported for tests and the benchmark. */
export function parseUserAgent(ua: string): Parsed {
  const r = new UAParser(ua).getResult();
  const nothing = !r.os.name && !r.browser.name && !r.device.type && !r.device.vendor && !r.device.model;
  if (nothing || SINGLE_TOKEN.test(ua)) return SERVER;
  const type = r.device.type;
  // Chrome's reduced agent says "Android 10; K": "K" is a placeholder, not a model.
  const model = r.device.model === 'K' && !r.device.vendor ? '' : (r.device.model ?? '');
  return {
    os: r.os.name ?? '',
    os_version: r.os.version ?? '',
    browser: r.browser.name ?? '',
    browser_version: r.browser.version ?? '',
    // ua-parser reports no type for desktops, nor for native apps' HTTP stacks
    // ("MyApp/1 CFNetwork/1410 Darwin/22.6"): on iOS or Android that is a phone.
    device: type && KNOWN_DEVICE.has(type) ? type : r.os.name === 'iOS' || r.os.name === 'Android' ? 'mobile' : 'desktop',
    brand: r.device.vendor ?? '',
    model,
    server: false,
  };
}

/**
 * The user-agent step. `cache`: parsed agents by UA string (its first 500 characters);
 * default a fresh one holding at most `cacheSize` (10,000) agents, in two generations.
 */
export function createUserAgentStep(deps: { cacheSize?: number; cache?: RecentMap<string, ParsedUserAgent> } = {}): Step {
  const cache = deps.cache ?? createRecentMap<string, Parsed>(Math.max(1, Math.ceil((deps.cacheSize ?? 10_000) / 2)));
  return {
    name: 'user-agent',
    run(d) {
      const ua = d.userAgent.slice(0, MAX_UA_LENGTH);
      let info: Parsed | undefined;
      if (ua === '') info = d.caller.viaSecret ? SERVER : undefined;
      else {
        info = cache.get(ua);
        if (!info) {
          info = parseUserAgent(ua);
          cache.add(ua, info);
        }
      }
      if (!info) return d;
      const row = d.row;
      row.os = info.os;
      row.os_version = info.os_version;
      row.browser = info.browser;
      row.browser_version = info.browser_version;
      row.device = info.device;
      row.brand = info.brand;
      row.model = info.model;
      if (info.server) d.serverSide = true;
      return d;
    },
  };
}
