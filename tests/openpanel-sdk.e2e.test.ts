/**
 * The published `@openpanel/sdk` (1.3.1, unmodified) against a real Livepanel: every payload
 * type it sends, then every stored field read back through the read API. Guards the promise
 * that a site using OpenPanel's server SDK can point `apiUrl` at Livepanel and keep working:
 * the SDK gets `{deviceId, sessionId}` back, the magic properties are honoured, and profiles,
 * counters and groups end up where the SDK meant them.
 */
import { OpenPanel } from '@openpanel/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../shared/rows.ts';
import { CHROME_UA, chMs, type Reader, reader } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

// What the bundled DB-IP City Lite database says for 8.8.8.8 (looked up with server/ingest/geoip.ts).
const IP = '8.8.8.8';
const GEO = { country: 'US', region: 'California', city: 'Mountain View', latitude: 37.422, longitude: -122.085 };
const PAGE =
  'https://www.shop.example.com/products/shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=running&utm_content=hero&sku=42#reviews';

let server: TestServer;
let read: Reader;
let op: OpenPanel;
const replies: Record<string, unknown> = {};
let startedAt: number;
let events: EventRow[];

beforeAll(async () => {
  server = await startTestServer();
  const project = await server.createProject('Shop', 'shop.example.com');
  read = reader(server.url, project.projectId, project, server.settle);
  op = new OpenPanel({ apiUrl: server.url, clientId: project.clientId, clientSecret: project.clientSecret });
  // A backend forwarding its visitor: the visitor's browser agent and IP on every call.
  op.api.addHeader('user-agent', CHROME_UA);
  op.setGlobalProperties({ __ip: IP });
  startedAt = Date.now();

  replies.pageView = await op.track('product_viewed', {
    __path: PAGE,
    __referrer: 'https://www.google.com/search?q=running+shoes',
    __title: 'Running shoes – Shop',
    product: { id: 'sku-42', price: 89.5, tags: ['running', 'trail'], stock: { eu: 3, us: 0 } },
    featured: true,
    discount: null,
  });
  replies.afterPageView = { deviceId: op.getDeviceId(), sessionId: op.getSessionId() };
  replies.revenue = await op.revenue(1999, { currency: 'USD', __path: 'https://www.shop.example.com/checkout/done' });
  replies.identify = await op.identify({
    profileId: 'user-42',
    firstName: 'Ann',
    lastName: 'Lee',
    email: 'ann@example.com',
    avatar: 'https://cdn.example.com/ann.png',
    properties: { tier: 'premium', credits: 10, address: { city: 'Oslo', zip: '0150' } },
  });
  replies.afterIdentify = { deviceId: op.getDeviceId(), sessionId: op.getSessionId() };
  await op.increment({ profileId: 'user-42', property: 'visits', value: 3 });
  await op.increment({ profileId: 'user-42', property: 'visits' }); // value defaults to 1
  await op.decrement({ profileId: 'user-42', property: 'credits', value: 4 });
  await op.decrement({ profileId: 'user-42', property: 'credits' });
  await op.upsertGroup({ id: 'org-7', type: 'company', name: 'Acme Inc', properties: { plan: 'enterprise', seats: 40, billing: { cycle: 'yearly' } } });
  await op.setGroup('org-7');
  replies.checkout = await op.track('checkout_started', { cart: { items: 2 } }); // now carries profileId and groups
  replies.afterCheckout = { deviceId: op.getDeviceId(), sessionId: op.getSessionId() };
  // Many counters at once (separate requests, possibly separate flushes): none may be lost.
  await Promise.all(Array.from({ length: 25 }, () => op.increment({ profileId: 'user-42', property: 'logins' })));
  events = await read.events(100);
});

afterAll(async () => {
  await server?.destroy();
});

const named = (name: string) => events.filter((e) => e.name === name);
const one = (name: string) => {
  const list = named(name);
  expect(list, `events named ${name}`).toHaveLength(1);
  return list[0]!;
};

describe('@openpanel/sdk against Livepanel', () => {
  it('stores exactly the track events the SDK sent, plus one session_start', () => {
    expect(events.map((e) => e.name).sort()).toEqual(['checkout_started', 'product_viewed', 'revenue', 'session_start']);
  });

  it('answers every track with {deviceId, sessionId}, which the SDK keeps', () => {
    const pv = one('product_viewed');
    expect(replies.pageView).toEqual({ deviceId: pv.device_id, sessionId: pv.session_id });
    expect(replies.afterPageView).toEqual({ deviceId: pv.device_id, sessionId: pv.session_id });
    expect(replies.checkout).toEqual({ deviceId: pv.device_id, sessionId: pv.session_id });
    expect(replies.afterCheckout).toEqual({ deviceId: pv.device_id, sessionId: pv.session_id });
  });

  it('keeps the SDK session id across identify (it overwrites its copy with every answer)', () => {
    const pv = one('product_viewed');
    expect(replies.afterIdentify).toEqual({ deviceId: pv.device_id, sessionId: pv.session_id });
  });

  it('gives every event of the visitor one device id and one session', () => {
    const pv = one('product_viewed');
    expect(pv.device_id).toMatch(/^[0-9a-f]{32}$/);
    expect(pv.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(events.map((e) => e.device_id))).toEqual(new Set([pv.device_id]));
    expect(new Set(events.map((e) => e.session_id))).toEqual(new Set([pv.session_id]));
  });

  it('stamps events with the time they were sent', () => {
    for (const e of events) {
      expect(chMs(e.created_at)).toBeGreaterThanOrEqual(startedAt - 1_000);
      expect(chMs(e.created_at)).toBeLessThanOrEqual(Date.now());
      expect(chMs(e.received_at)).toBeGreaterThanOrEqual(chMs(e.created_at) - 1);
    }
    // session_start sits one millisecond before the event that opened the session.
    expect(chMs(one('session_start').created_at)).toBe(chMs(one('product_viewed').created_at) - 1);
  });

  it('splits the page URL, reads the campaign and classifies the referrer', () => {
    const pv = one('product_viewed');
    expect(pv).toMatchObject({
      origin: 'https://www.shop.example.com',
      path: '/products/shoes',
      title: 'Running shoes – Shop',
      referrer: 'https://www.google.com/search',
      referrer_name: 'Google',
      referrer_type: 'search',
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'spring',
      utm_term: 'running',
      utm_content: 'hero',
    });
    const start = one('session_start');
    expect(start).toMatchObject({ origin: pv.origin, path: pv.path, referrer_name: 'Google', utm_campaign: 'spring', properties: {} });
  });

  it('places the visitor from __ip with the bundled DB-IP database', () => {
    for (const e of events) expect(e).toMatchObject(GEO);
  });

  it('describes the device from the forwarded user agent', () => {
    for (const e of events) {
      expect(e).toMatchObject({ os: 'Windows', os_version: '10', browser: 'Chrome', browser_version: '124.0.0.0', device: 'desktop', brand: '', model: '' });
    }
  });

  it('records the SDK name and version it announces', () => {
    for (const e of named('product_viewed').concat(named('revenue'), named('checkout_started'))) {
      expect(e).toMatchObject({ sdk_name: 'node', sdk_version: '1.3.1' });
    }
  });

  it('flattens nested properties to dotted keys and keeps magic properties out of them', () => {
    expect(one('product_viewed').properties).toEqual({
      'product.id': 'sku-42',
      'product.price': '89.5',
      'product.tags.0': 'running',
      'product.tags.1': 'trail',
      'product.stock.eu': '3',
      'product.stock.us': '0',
      featured: 'true',
    });
    expect(one('checkout_started').properties).toEqual({ 'cart.items': '2' });
  });

  it('stores revenue from op.revenue()', () => {
    const r = one('revenue');
    expect(r).toMatchObject({ revenue: 1999, path: '/checkout/done', origin: 'https://www.shop.example.com', properties: { currency: 'USD' } });
    for (const e of events.filter((x) => x.name !== 'revenue')) expect(e.revenue).toBe(0);
  });

  it('attaches the identified profile and the assigned group to later events', () => {
    expect(one('product_viewed')).toMatchObject({ profile_id: '', groups: [] });
    expect(one('checkout_started')).toMatchObject({ profile_id: 'user-42', groups: ['org-7'] });
  });

  it('stores the profile from identify, with increment and decrement applied', async () => {
    const p = await read.profile('user-42');
    expect(p).toMatchObject({
      id: 'user-42',
      first_name: 'Ann',
      last_name: 'Lee',
      email: 'ann@example.com',
      avatar: 'https://cdn.example.com/ann.png',
      groups: ['org-7'],
    });
    expect(p.properties).toEqual({ tier: 'premium', credits: '5', 'address.city': 'Oslo', 'address.zip': '0150', visits: '4', logins: '25' });
    expect(chMs(p.created_at)).toBeGreaterThanOrEqual(startedAt - 1_000);
    expect(chMs(p.updated_at)).toBeGreaterThanOrEqual(chMs(p.created_at));
    expect((await read.get(`/profiles/${encodeURIComponent('nobody')}`)).status).toBe(404);
  });

  it('stores the group from upsertGroup', async () => {
    const g = await read.group('org-7');
    expect(g).toMatchObject({ id: 'org-7', type: 'company', name: 'Acme Inc', properties: { plan: 'enterprise', seats: '40', 'billing.cycle': 'yearly' } });
    expect(chMs(g.updated_at)).toBeGreaterThanOrEqual(startedAt - 1_000);
  });
});
