import { describe, expect, it } from 'vitest';
import { createRecentMap, type RecentMap } from '../../engines/recent-map.ts';
import { newDraft } from '../draft.ts';
import type { Draft } from '../types.ts';
import { normalizeStep } from './normalize.ts';
import { createUserAgentStep, type ParsedUserAgent, parseUserAgent } from './user-agent.ts';

const UA = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  galaxy: 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36',
  reducedAndroid: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  galaxyTab: 'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  tizenTv: 'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/538.1 (KHTML, like Gecko) Version/6.0 TV Safari/538.1',
  ps5: 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)',
  galaxyWatch: 'Mozilla/5.0 (Linux; Android 11; SM-R875F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36',
  iosApp: 'Livepanel/3 CFNetwork/1410.0.3 Darwin/22.6.0',
};

function draft(userAgent: string, viaSecret = false, properties: Record<string, unknown> = {}): Draft {
  const d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret },
    { ip: '8.8.8.8', userAgent, origin: '', sdkName: 'web', sdkVersion: '1', receivedAt: 0 },
    { type: 'track', payload: { name: 'screen_view', properties } },
  );
  return normalizeStep.run(d) as Draft;
}

describe('user-agent step', () => {
  const step = createUserAgentStep();
  const row = (ua: string, viaSecret = false) => (step.run(draft(ua, viaSecret)) as Draft).row;

  it('reads desktop browsers', () => {
    expect(row(UA.chromeWindows)).toMatchObject({
      os: 'Windows',
      os_version: '10',
      browser: 'Chrome',
      browser_version: '131.0.0.0',
      device: 'desktop',
      brand: '',
      model: '',
    });
    expect(row(UA.safariMac)).toMatchObject({
      os: 'Mac OS',
      os_version: '10.15.7',
      browser: 'Safari',
      browser_version: '17.6',
      device: 'desktop',
      brand: 'Apple',
    });
    expect(row(UA.firefoxLinux)).toMatchObject({ os: 'Linux', browser: 'Firefox', browser_version: '133.0', device: 'desktop' });
    expect(row(UA.edge)).toMatchObject({ browser: 'Edge', device: 'desktop' });
  });

  it('reads phones and tablets', () => {
    expect(row(UA.iphone)).toMatchObject({ os: 'iOS', os_version: '17.6.1', browser: 'Mobile Safari', device: 'mobile', brand: 'Apple', model: 'iPhone' });
    expect(row(UA.ipad)).toMatchObject({ os: 'iOS', device: 'tablet', model: 'iPad' });
    expect(row(UA.galaxy)).toMatchObject({ os: 'Android', os_version: '14', browser: 'Chrome', device: 'mobile', brand: 'Samsung', model: 'SM-S918B' });
    expect(row(UA.galaxyTab)).toMatchObject({ os: 'Android', device: 'tablet', brand: 'Samsung', model: 'SM-X710' });
  });

  it('blanks the "K" placeholder model of Chrome’s reduced Android agent', () => {
    expect(row(UA.reducedAndroid)).toMatchObject({ os: 'Android', device: 'mobile', model: '', brand: '' });
  });

  it('classifies TVs, consoles and watches', () => {
    expect(row(UA.tizenTv).device).toBe('smarttv');
    expect(row(UA.ps5)).toMatchObject({ device: 'console', brand: 'Sony', model: 'PlayStation 5' });
    expect(row(UA.galaxyWatch).device).toBe('wearable');
  });

  it('counts a native iOS app’s HTTP stack as a phone, not a server', () => {
    const d = step.run(draft(UA.iosApp)) as Draft;
    expect(d.row).toMatchObject({ os: 'iOS', device: 'mobile' });
    expect(d.serverSide).toBe(false);
  });

  it.each([
    'node/1.0',
    'openpanel-node/1.3.1',
    'curl/8.4.0',
    'python-requests/2.31.0',
    'Go-http-client/1.1',
    'Apache-HttpClient/4.5.14 (Java/17.0.2)',
    'undici',
  ])('marks %s as server-side', (ua) => {
    const d = step.run(draft(ua, true)) as Draft;
    expect(d.serverSide).toBe(true);
    expect(d.row).toMatchObject({ device: 'server', os: '', browser: '', brand: '', model: '' });
  });

  it('treats an empty agent as server-side only from a secret caller', () => {
    const server = step.run(draft('', true)) as Draft;
    expect(server.serverSide).toBe(true);
    expect(server.row.device).toBe('server');
    const browser = step.run(draft('', false)) as Draft;
    expect(browser.serverSide).toBe(false);
    expect(browser.row.device).toBe('');
  });

  it('parses the visitor agent a server forwards with __userAgent, which is not server-side', () => {
    const d = step.run(draft('node/1.0', true, { __userAgent: UA.iphone })) as Draft;
    expect(d.serverSide).toBe(false);
    expect(d.row).toMatchObject({ os: 'iOS', device: 'mobile' });
  });

  it('parses each distinct agent once, keyed by its first 500 characters, forgetting the least recent', () => {
    const inner = createRecentMap<string, ParsedUserAgent>(1); // holds the last one or two agents
    const parsed: string[] = []; // every agent parsed (added to the cache after a miss)
    const cache: RecentMap<string, ParsedUserAgent> = {
      get: (k) => inner.get(k),
      set: (k, v) => inner.set(k, v),
      add: (k, v) => {
        parsed.push(k);
        inner.add(k, v);
      },
      delete: (k) => inner.delete(k),
      get size() {
        return inner.size;
      },
      clear: () => inner.clear(),
    };
    const cached = createUserAgentStep({ cache });
    cached.run(draft(UA.galaxy));
    cached.run(draft(UA.galaxy));
    expect(parsed).toEqual([UA.galaxy]);
    const long = `${UA.chromeWindows} ${'x'.repeat(600)}`;
    cached.run(draft(long));
    cached.run(draft(`${long}y`)); // differs only past 500 characters: same entry
    expect(parsed).toEqual([UA.galaxy, long.slice(0, 500)]);
    const row = (cached.run(draft(UA.iphone)) as Draft).row; // galaxy is now two agents back: forgotten
    expect(row.model).toBe('iPhone');
    expect((cached.run(draft(UA.galaxy)) as Draft).row.model).toBe((cached.run(draft(UA.galaxy)) as Draft).row.model);
    expect(parsed).toEqual([UA.galaxy, long.slice(0, 500), UA.iphone, UA.galaxy]);
  });

  it('parseUserAgent returns the same frozen server answer for every server agent', () => {
    expect(parseUserAgent('node/1.0')).toBe(parseUserAgent('Deno/1.40.0'));
    expect(Object.isFrozen(parseUserAgent('node/1.0'))).toBe(true);
  });
});
