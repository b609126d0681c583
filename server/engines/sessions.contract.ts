/**
 * The SessionStore contract: both stores must pass it, the Redis one against a real server
 * with several connections standing in for several processes. Times are synthetic (the
 * store only compares the times it is given), with a 1 s timeout.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Harness } from './harness.ts';
import type { OpenSession, SessionHit, SessionStore } from './sessions.ts';

export const CONTRACT_TIMEOUT_MS = 1000;
const T0 = 1_700_000_000_000;
const TIMEOUT = CONTRACT_TIMEOUT_MS;
let ids = 0;

const hit = (at: number, over: Partial<SessionHit> = {}): SessionHit => ({
  at,
  path: `/p${at - T0}`,
  origin: 'https://a.test',
  profileId: '',
  isScreenView: true,
  revenue: 0,
  ...over,
});

/** What the ingest step does: a new session with the first hit already applied. */
export function seedFor(projectId: string, deviceId: string, h: SessionHit): OpenSession {
  return {
    id: `s${++ids}`,
    projectId,
    deviceId,
    profileId: h.profileId,
    startedAt: h.at,
    lastSeenAt: h.at,
    keepAliveUntil: 0,
    eventCount: 1,
    screenViewCount: h.isScreenView ? 1 : 0,
    revenue: h.revenue,
    entryPath: h.path,
    entryOrigin: h.origin,
    exitPath: h.path,
    exitOrigin: h.origin,
    referrer: 'https://ref.test/x',
    referrerName: 'Ref',
    referrerType: 'link',
    utmSource: 'news',
    utmMedium: 'email',
    utmCampaign: 'launch',
    utmTerm: '',
    utmContent: '',
    country: 'DE',
    region: 'BE',
    city: 'Berlin',
    os: 'Linux',
    osVersion: '6',
    browser: 'Firefox',
    browserVersion: '130.0',
    device: 'desktop',
    brand: '',
    model: '',
  };
}

export function describeSessionStore(name: string, make: (opts: { timeoutMs: number }) => Promise<Harness<SessionStore>>) {
  describe(`SessionStore contract: ${name}`, () => {
    let h: Harness<SessionStore>;
    let store: SessionStore;
    beforeEach(async () => {
      h = await make({ timeoutMs: TIMEOUT });
      store = h.store;
    });
    afterEach(() => h.cleanup());

    const touch = (s: SessionStore, device: string, x: SessionHit, project = 'proj:1') => s.touch(project, device, x, () => seedFor(project, device, x));

    it('starts a session on the first touch, storing the seed as is (the seed carries the first hit)', async () => {
      const r = await touch(store, 'dev', hit(T0, { revenue: 1.5, profileId: 'u1' }));
      expect(r.started).toBe(true);
      expect(r.closed).toBeUndefined();
      expect(r.session).toMatchObject({ eventCount: 1, screenViewCount: 1, revenue: 1.5, startedAt: T0, lastSeenAt: T0, profileId: 'u1' });
      expect(await store.get('proj:1', 'dev')).toEqual(r.session);
      expect(await store.get('proj:1', 'other')).toBeNull();
      expect(await store.size()).toBe(1);
    });

    it('continues the session for a hit within the timeout', async () => {
      const first = await touch(store, 'dev', hit(T0));
      const r = await touch(store, 'dev', hit(T0 + 900, { path: '/b', origin: 'https://b.test', isScreenView: false, revenue: 2.25 }));
      expect(r.started).toBe(false);
      expect(r.closed).toBeUndefined();
      expect(r.session).toMatchObject({
        id: first.session.id,
        startedAt: T0,
        lastSeenAt: T0 + 900,
        eventCount: 2,
        screenViewCount: 1,
        revenue: 2.25,
        entryPath: '/p0',
        exitPath: '/b',
        exitOrigin: 'https://b.test',
        city: 'Berlin',
      });
      expect(await store.get('proj:1', 'dev')).toEqual(r.session);
    });

    it('keeps the exit page when a later hit has no page (a link_out click is not a page)', async () => {
      await touch(store, 'dev', hit(T0, { path: '/pricing', origin: 'https://a.test' }));
      const r = await touch(store, 'dev', hit(T0 + 10, { path: '', origin: '' }));
      expect(r.session).toMatchObject({ lastSeenAt: T0 + 10, exitPath: '/pricing', exitOrigin: 'https://a.test', eventCount: 2 });
    });

    it('sets the profile id once, and never overwrites it', async () => {
      await touch(store, 'dev', hit(T0));
      expect((await touch(store, 'dev', hit(T0 + 1, { profileId: 'u1' }))).session.profileId).toBe('u1');
      expect((await touch(store, 'dev', hit(T0 + 2, { profileId: 'u2' }))).session.profileId).toBe('u1');
      expect((await touch(store, 'dev', hit(T0 + 3))).session.profileId).toBe('u1');
    });

    it('does not move lastSeenAt or the exit page back for an out-of-order hit', async () => {
      await touch(store, 'dev', hit(T0 + 100));
      await touch(store, 'dev', hit(T0 + 800, { path: '/latest' }));
      const r = await touch(store, 'dev', hit(T0 + 300, { path: '/late' }));
      expect(r.session).toMatchObject({ lastSeenAt: T0 + 800, exitPath: '/latest', eventCount: 3, entryPath: '/p100', startedAt: T0 + 100 });
      const earlier = await touch(store, 'dev', hit(T0 + 50, { path: '/first' }));
      expect(earlier.session).toMatchObject({ startedAt: T0 + 50, entryPath: '/first', lastSeenAt: T0 + 800, eventCount: 4 });
      // Expiry follows the latest hit, not the late one.
      expect(await store.claimExpired(T0 + 800 + TIMEOUT - 1, 10)).toEqual([]);
      expect((await store.claimExpired(T0 + 800 + TIMEOUT, 10)).map((s) => s.id)).toEqual([r.session.id]);
    });

    it('closes the expired session on a hit after the timeout and starts a new one', async () => {
      const first = await touch(store, 'dev', hit(T0));
      await touch(store, 'dev', hit(T0 + 500, { path: '/b' }));
      const r = await touch(store, 'dev', hit(T0 + 500 + TIMEOUT, { path: '/c' }));
      expect(r.started).toBe(true);
      expect(r.closed).toMatchObject({ id: first.session.id, eventCount: 2, lastSeenAt: T0 + 500, exitPath: '/b' });
      expect(r.session.id).not.toBe(first.session.id);
      expect(r.session).toMatchObject({ startedAt: T0 + 500 + TIMEOUT, eventCount: 1, entryPath: '/c' });
      expect(await store.get('proj:1', 'dev')).toEqual(r.session);
      expect(await store.size()).toBe(1);
      // The closed session was handed out once: the reaper does not get it again.
      expect(await store.claimExpired(T0 + 499 + 2 * TIMEOUT, 10)).toEqual([]);
    });

    it('touchMany applies a batch of hits in order exactly as one touch per hit would', async () => {
      // Devices new and continuing, a hit without a page, out-of-order times, and a device whose
      // session expires between two of its hits in the same call (it must close and restart).
      const plan: Array<[string, SessionHit]> = [
        ['a', hit(T0)],
        ['b', hit(T0 + 5, { profileId: 'u1', revenue: 3 })],
        ['a', hit(T0 + 10, { path: '', origin: '' })],
        ['c', hit(T0 + 20, { isScreenView: false })],
        ['a', hit(T0 + 4, { path: '/early' })],
        ['b', hit(T0 + 5 + TIMEOUT, { path: '/again' })],
        ['b', hit(T0 + 6 + TIMEOUT, { profileId: 'u2' })],
        ['c', hit(T0 + 30)],
      ];
      await touch(store, 'c', hit(T0 - 100), 'seq');
      await touch(store, 'c', hit(T0 - 100), 'many');
      const seq = [];
      for (const [device, x] of plan) seq.push(await touch(store, device, x, 'seq'));
      const many = await store.touchMany(
        'many',
        plan.map(([deviceId, x]) => ({ deviceId, hit: x, seed: () => seedFor('many', deviceId, x) })),
      );
      const shape = (r: { started: boolean; exitPath: string; exitOrigin: string; closed?: OpenSession }) => ({
        started: r.started,
        exitPath: r.exitPath,
        exitOrigin: r.exitOrigin,
        closed: r.closed && { ...r.closed, id: '', projectId: '' },
      });
      expect(many.map(shape)).toEqual(seq.map((r) => shape({ ...r, exitPath: r.session.exitPath, exitOrigin: r.session.exitOrigin })));
      expect(many.map((r) => r.started)).toEqual([true, true, false, false, false, true, false, false]);
      // Ids follow the sessions: b's second session closed the first, and the others kept theirs.
      expect(many[5]!.closed?.id).toBe(many[1]!.id);
      expect(many[6]!.id).toBe(many[5]!.id);
      expect(many[4]!.id).toBe(many[0]!.id);
      for (const device of ['a', 'b', 'c']) {
        const [x, y] = [await store.get('seq', device), await store.get('many', device)];
        expect({ ...y, id: '', projectId: '' }).toEqual({ ...x, id: '', projectId: '' });
      }
      expect((await store.get('many', 'a'))?.id).toBe(many[0]!.id);
    });

    it('touchMany stores odd text and fractional revenue exactly as one touch per hit would', async () => {
      // The Redis store sends a batch's hits as JSON to its script: a lone surrogate (which the
      // script's JSON decoder refuses), a NUL, quotes, backslashes and non-Latin text must come
      // out as they do through `touch`, and revenue added hit by hit as `touch` adds it.
      const odd = ['/a\uD800b', '/nul\u0000x', '/"q"\\ud83d', '/ü/日本/😀', '\\'];
      const plan: Array<[string, SessionHit]> = [
        ...odd.map((path, i): [string, SessionHit] => ['d', hit(T0 + i, { path, origin: `https://${i}.test`, revenue: 0.1 })]),
        ['d', hit(T0 + 10, { path: '', origin: '', profileId: 'p\uDC00', revenue: 0.2 })],
        ['e', hit(T0 + 11, { path: odd[0]!, profileId: odd[2]!, revenue: 0.3 })],
        ['d', hit(T0 + 12, { revenue: 0.7 })],
        ['d', hit(T0 + 13, { path: '/late\uDFFF', origin: 'https://\uD83D.test' })],
        ['e', hit(T0 + 14, { path: '' })],
      ];
      const seq = [];
      for (const [device, x] of plan) seq.push(await touch(store, device, x, 'seq'));
      const many = await store.touchMany(
        'many',
        plan.map(([deviceId, x]) => ({ deviceId, hit: x, seed: () => seedFor('many', deviceId, x) })),
      );
      expect(many.map((r) => [r.started, r.exitPath, r.exitOrigin])).toEqual(seq.map((r) => [r.started, r.session.exitPath, r.session.exitOrigin]));
      for (const device of ['d', 'e']) {
        const [x, y] = [await store.get('seq', device), await store.get('many', device)];
        expect(y).not.toBeNull();
        expect({ ...y, id: '', projectId: '' }).toEqual({ ...x, id: '', projectId: '' });
      }
    });

    it('keeps projects and devices apart, even when ids contain separators', async () => {
      const a = await touch(store, 'b:c', hit(T0), 'a');
      const b = await touch(store, 'c', hit(T0), 'a:b');
      expect(a.session.id).not.toBe(b.session.id);
      expect(b.started).toBe(true);
      expect(await store.size()).toBe(2);
    });

    it('keepAlive delays expiry, never shortens it, and ignores absent sessions', async () => {
      const first = await touch(store, 'dev', hit(T0));
      await store.keepAlive('proj:1', 'dev', T0 + 5000);
      await store.keepAlive('proj:1', 'dev', T0 + 2000);
      await store.keepAlive('proj:1', 'nobody', T0 + 5000);
      expect(await store.get('proj:1', 'nobody')).toBeNull();
      expect((await store.get('proj:1', 'dev'))?.keepAliveUntil).toBe(T0 + 5000);
      expect(await store.claimExpired(T0 + 4999, 10)).toEqual([]);
      const r = await touch(store, 'dev', hit(T0 + 3000));
      expect(r.started).toBe(false);
      expect(r.session.id).toBe(first.session.id);
      expect(await store.claimExpired(T0 + 4999, 10)).toEqual([]);
      const claimed = await store.claimExpired(T0 + 5000, 10);
      expect(claimed.map((s) => [s.id, s.eventCount])).toEqual([[first.session.id, 2]]);
      expect(await store.size()).toBe(0);
    });

    it('claimExpired returns only due sessions, oldest first, up to the limit', async () => {
      for (let i = 0; i < 5; i++) await touch(store, `d${i}`, hit(T0 + i * 100));
      expect(await store.claimExpired(T0 + TIMEOUT - 1, 10)).toEqual([]);
      const first = await store.claimExpired(T0 + TIMEOUT + 250, 2);
      expect(first.map((s) => s.deviceId)).toEqual(['d0', 'd1']);
      const rest = await store.claimExpired(T0 + TIMEOUT + 250, 10);
      expect(rest.map((s) => s.deviceId)).toEqual(['d2']);
      expect(await store.get('proj:1', 'd0')).toBeNull();
      expect(await store.size()).toBe(2);
      expect(await store.claimExpired(T0 + 10 * TIMEOUT, 0)).toEqual([]);
    });

    it('hands each expired session to exactly one of 10 racing claimers', async () => {
      const claimers = await h.peers(10);
      for (let i = 0; i < 60; i++) await touch(store, `d${i}`, hit(T0 + (i % 3) * 10));
      for (let i = 0; i < 5; i++) await touch(store, `live${i}`, hit(T0 + 5 * TIMEOUT));
      const now = T0 + 2 * TIMEOUT;
      const drain = async (s: SessionStore) => {
        const got: OpenSession[] = [];
        for (let batch = await s.claimExpired(now, 3); batch.length > 0; batch = await s.claimExpired(now, 3)) got.push(...batch);
        return got;
      };
      const results = await Promise.all(claimers.map(drain));
      const ids = results.flat().map((s) => s.deviceId);
      expect(ids).toHaveLength(60);
      expect(new Set(ids).size).toBe(60);
      expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);
      expect(await store.size()).toBe(5);
    });

    it('starts one session when 10 processes touch a new device at once', async () => {
      const peers = await h.peers(10);
      const results = await Promise.all(peers.map((p, i) => touch(p, 'dev', hit(T0 + i))));
      expect(results.filter((r) => r.started)).toHaveLength(1);
      const s = await store.get('proj:1', 'dev');
      expect(s).toMatchObject({ eventCount: 10, lastSeenAt: T0 + 9 });
      expect(new Set(results.map((r) => r.session.id))).toEqual(new Set([s!.id]));
    });

    it('closes an expired session exactly once when touches and the reaper race', async () => {
      const peers = await h.peers(10);
      const old = await touch(store, 'dev', hit(T0));
      const later = T0 + 3 * TIMEOUT;
      const [claimed, ...touched] = await Promise.all([peers[0]!.claimExpired(later, 10), ...peers.slice(1).map((p, i) => touch(p, 'dev', hit(later + i)))]);
      const closers = [...claimed.map((s) => s.id), ...touched.flatMap((r) => (r.closed ? [r.closed.id] : []))];
      expect(closers).toEqual([old.session.id]);
      expect(touched.filter((r) => r.started)).toHaveLength(1);
      expect((await store.get('proj:1', 'dev'))?.eventCount).toBe(9);
    });
  });
}
