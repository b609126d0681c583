import { describe, expect, it } from 'vitest';
import { cookielessDeviceId } from '../device-id.ts';
import { newDraft } from '../draft.ts';
import type { SaltSource } from '../salts.ts';
import type { Draft, RequestInfo } from '../types.ts';
import { createDeviceIdStep } from './device-id.ts';
import { normalizeStep } from './normalize.ts';
import { createUserAgentStep } from './user-agent.ts';

const DAY = 86_400_000;
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1';

/** Daily salts as the PostgreSQL-backed source serves them: one per UTC day. */
const dailySalts: SaltSource = {
  salts(now) {
    const day = Math.floor(now / DAY);
    return { current: `salt-${day}`, previous: `salt-${day - 1}` };
  },
};

function enrich(opts: {
  ua?: string;
  viaSecret?: boolean;
  properties?: Record<string, unknown>;
  request?: Partial<RequestInfo>;
  profileId?: string;
  previousWithinMs?: number;
}): Draft {
  let d = newDraft(
    { projectId: 'proj-1', clientId: 'c1', clientType: 'write', viaSecret: opts.viaSecret ?? false },
    { ip: '8.8.8.8', userAgent: opts.ua ?? IPHONE, origin: '', sdkName: 'web', sdkVersion: '1', receivedAt: Date.UTC(2025, 0, 15, 23, 59), ...opts.request },
    { type: 'track', payload: { name: 'screen_view', properties: opts.properties ?? {}, ...(opts.profileId ? { profileId: opts.profileId } : {}) } },
  );
  for (const step of [normalizeStep, createUserAgentStep(), createDeviceIdStep({ salts: dailySalts, previousWithinMs: opts.previousWithinMs })])
    d = step.run(d) as Draft;
  return d;
}

describe('device-id step', () => {
  it('hashes project, agent and IP with the salt of the receive day, and the previous day’s too', () => {
    const at = Date.UTC(2025, 0, 15, 23, 59);
    const d = enrich({});
    const day = Math.floor(at / DAY);
    expect(d.row.device_id).toBe(cookielessDeviceId(`salt-${day}`, 'proj-1', IPHONE, '8.8.8.8'));
    expect(d.previousDeviceId).toBe(cookielessDeviceId(`salt-${day - 1}`, 'proj-1', IPHONE, '8.8.8.8'));
    expect(d.previousDeviceId).not.toBe(d.row.device_id);
  });

  // Guards the shortcut that skips yesterday's HMAC: inside the window after midnight (the
  // session timeout) it must still be there, or a session open across midnight would split.
  it('works out yesterday’s id only within `previousWithinMs` after UTC midnight, by the event’s time', () => {
    const window = 30 * 60_000;
    const early = enrich({ request: { receivedAt: Date.UTC(2025, 0, 16, 0, 29, 59) }, previousWithinMs: window });
    expect(early.previousDeviceId).toBe(enrich({ request: { receivedAt: Date.UTC(2025, 0, 15, 23, 59) } }).row.device_id);
    const edge = enrich({ request: { receivedAt: Date.UTC(2025, 0, 16, 0, 30) }, previousWithinMs: window });
    expect(edge.previousDeviceId).toBe(early.previousDeviceId);
    const later = enrich({ request: { receivedAt: Date.UTC(2025, 0, 16, 0, 30, 0, 1) }, previousWithinMs: window });
    expect(later.previousDeviceId).toBeUndefined();
    expect(later.row.device_id).toBe(early.row.device_id);
    // A queued event from just after an earlier midnight still gets it (the session step looks at the event's time).
    const queued = enrich({ properties: { __timestamp: '2025-01-15T00:10:00Z' }, previousWithinMs: window });
    expect(queued.previousDeviceId).toBe(enrich({}).previousDeviceId);
  });

  it('rotates at UTC midnight: yesterday’s current id becomes today’s previous id', () => {
    const before = enrich({ request: { receivedAt: Date.UTC(2025, 0, 15, 23, 59, 59) } });
    const after = enrich({ request: { receivedAt: Date.UTC(2025, 0, 16, 0, 0, 1) } });
    expect(after.row.device_id).not.toBe(before.row.device_id);
    expect(after.previousDeviceId).toBe(before.row.device_id);
  });

  it('picks the salt by receive time, not by a queued event’s client time', () => {
    const queued = enrich({ properties: { __timestamp: '2025-01-14T10:00:00Z' } });
    expect(queued.at).toBe(Date.UTC(2025, 0, 14, 10));
    expect(queued.row.device_id).toBe(enrich({}).row.device_id);
  });

  it('hashes the forwarded visitor of a server SDK (__ip, __userAgent)', () => {
    const d = enrich({ ua: 'node/1.0', viaSecret: true, properties: { __ip: '1.1.1.1', __userAgent: IPHONE } });
    expect(d.row.device_id).toBe(enrich({ request: { ip: '1.1.1.1' } }).row.device_id);
  });

  it('lets an SDK device id win: the event’s __deviceId, then the socket’s', () => {
    const socket = { deviceId: 'socket-device-7' };
    expect(enrich({ properties: { __deviceId: 'app-install-42' }, request: socket }).row.device_id).toBe('app-install-42');
    const fromSocket = enrich({ request: socket });
    expect(fromSocket.row.device_id).toBe('socket-device-7');
    expect(fromSocket.previousDeviceId).toBeUndefined();
  });

  it('uses the profile id for server-side events that name one, the hash otherwise', () => {
    expect(enrich({ ua: 'node/1.0', viaSecret: true, profileId: 'user-17' }).row.device_id).toBe('user-17');
    const anonymous = enrich({ ua: 'node/1.0', viaSecret: true });
    expect(anonymous.row.device_id).toMatch(/^[0-9a-f]{32}$/);
    // a browser event naming a profile still gets its device's own id
    expect(enrich({ profileId: 'user-17' }).row.device_id).toMatch(/^[0-9a-f]{32}$/);
  });
});
