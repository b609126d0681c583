import { beforeAll, describe, expect, it } from 'vitest';
import { newDraft } from '../draft.ts';
import { type Geoip, openGeoip } from '../geoip.ts';
import type { Draft } from '../types.ts';
import { createGeoStep } from './geo.ts';
import { normalizeStep } from './normalize.ts';
import { createUserAgentStep } from './user-agent.ts';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

let geoip: Geoip;
beforeAll(async () => {
  geoip = await openGeoip();
});

function enrich(ip: string, userAgent: string, opts: { viaSecret?: boolean; properties?: Record<string, unknown> } = {}): Draft {
  let d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret: opts.viaSecret ?? false },
    { ip, userAgent, origin: '', sdkName: 'web', sdkVersion: '1', receivedAt: 0 },
    { type: 'track', payload: { name: 'screen_view', properties: opts.properties ?? {} } },
  );
  for (const step of [normalizeStep, createUserAgentStep(), createGeoStep({ geoip })]) d = step.run(d) as Draft;
  return d;
}

describe('geo step', () => {
  it('fills the place of a visitor IP and stores the IP nowhere in the row', () => {
    const d = enrich('8.8.8.8', CHROME);
    expect(d.row).toMatchObject({ country: 'US', region: 'California', city: 'Mountain View', latitude: 37.422, longitude: -122.085 });
    expect(JSON.stringify(d.row)).not.toContain('8.8.8.8');
  });

  it('fills an IPv6 visitor', () => {
    expect(enrich('2a00:1450:4001:82b::200e', CHROME).row).toMatchObject({ country: 'DE', city: 'Frankfurt am Main' });
  });

  it('leaves geo empty for private addresses', () => {
    expect(enrich('192.168.0.12', CHROME).row).toMatchObject({ country: '', region: '', city: '', latitude: null, longitude: null });
  });

  it('does not place a server-side event at its backend, but uses a forwarded __ip', () => {
    const own = enrich('8.8.8.8', 'node/1.0', { viaSecret: true });
    expect(own.serverSide).toBe(true);
    expect(own.row.country).toBe('');
    const forwarded = enrich('8.8.8.8', 'node/1.0', { viaSecret: true, properties: { __ip: '1.1.1.1' } });
    expect(forwarded.row).toMatchObject({ country: 'AU', city: 'Sydney' });
    expect(JSON.stringify(forwarded.row)).not.toContain('1.1.1.1');
  });
});
