/**
 * A website using the published `@openpanel/web` tracker (its browser build, served as a site
 * would serve `op1.js`) works against Livepanel unchanged, in real headless Chromium:
 * cross-origin with CORS preflights, screen views across two pages of one session, custom
 * events, `data-track` attributes, outgoing links, identify — every event answered with one
 * 200 JSON response (the SDK resends on anything else) and stored as sent. A page on an origin
 * the project does not allow is refused (401, not retried) and nothing of it is stored.
 */
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../../shared/rows.ts';
import { desktopChromeUserAgent, launchChromium, type StaticSite, startStaticSite, trackerPage } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';

const SDK_VERSION = '1.4.1';

let browser: Browser;
let lp: TestServer;
let site: StaticSite; // the project's site: its origin is allowed
let otherSite: StaticSite; // another origin, not in the project's domain
let project: { projectId: string; clientId: string; clientSecret: string };
let trackUrl: string;

beforeAll(async () => {
  // Chromium first: when it is missing the suite fails right here with the install hint.
  browser = await launchChromium();
  [lp, site, otherSite] = await Promise.all([startTestServer(), startStaticSite(), startStaticSite()]);
  trackUrl = `${lp.url}/track`;
  // The domain as a user would paste their site's address; it keeps the port, so only this
  // site's origin is allowed, not every port of 127.0.0.1.
  project = await lp.createProject('Browser test site', site.origin);

  const page = (title: string, body: string) => trackerPage({ title, apiUrl: lp.url, clientId: project.clientId, body });
  site.page(
    '/',
    page(
      'Home · Browser test',
      `<h1>Home</h1>
<p><button id="cta" data-track="cta_click" data-position="hero" data-button-label="Start free">Start free</button></p>
<p><a id="docs" href="${otherSite.origin.replace('127.0.0.1', 'localhost')}/docs" target="_blank" rel="noopener">Read the docs</a>
<a id="pricing" href="/pricing">Pricing</a></p>`,
    ),
  );
  site.page('/pricing', page('Pricing · Browser test', '<h1>Pricing</h1><p>Pro: 10 €</p>'));
  otherSite.page('/docs', '<!doctype html><title>Docs</title><h1>Docs (no tracker)</h1>');
  otherSite.page('/', page('Not allowed · Browser test', '<h1>An origin the project does not allow</h1>'));
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([lp?.destroy(), site?.close(), otherSite?.close()]);
});

// ---------------------------------------------------------------------------------------------
// Helpers

type TrackBody = { type: string; payload: { name?: string; profileId?: string; properties?: Record<string, unknown> } & Record<string, unknown> };

interface TrackExchange {
  body: TrackBody;
  requestHeaders: Record<string, string>;
  status: number;
  responseHeaders: Record<string, string>;
  responseText: string;
}

/** What the page sent to `/track` and saw come back, plus console output and preflights. */
interface Traffic {
  posts: Array<{ body: TrackBody; at: number }>;
  preflights: Array<{ status?: number; headers?: Record<string, string> }>;
  console: string[];
}

async function watch(context: BrowserContext, page: Page): Promise<Traffic> {
  const t: Traffic = { posts: [], preflights: [], console: [] };
  page.on('request', (req) => {
    if (isTrackPost(req)) t.posts.push({ body: req.postDataJSON() as TrackBody, at: Date.now() });
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') t.console.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => t.console.push(`pageerror: ${err.message}`));
  // Playwright does not surface CORS preflights; the DevTools protocol does.
  const cdp = await context.newCDPSession(page);
  const preflightIds = new Map<string, number>();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.method === 'OPTIONS' && e.request.url === trackUrl) {
      preflightIds.set(e.requestId, t.preflights.push({}) - 1);
    }
  });
  cdp.on('Network.responseReceived', (e) => {
    const i = preflightIds.get(e.requestId);
    if (i !== undefined) t.preflights[i] = { status: e.response.status, headers: lower(e.response.headers) };
  });
  await cdp.send('Network.enable');
  return t;
}

const isTrackPost = (req: Request) => req.method() === 'POST' && req.url() === trackUrl;
const lower = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

/** Resolves with the `/track` exchange whose body matches; start it before the action that sends. */
async function nextTrack(page: Page, match: (b: TrackBody) => boolean): Promise<TrackExchange> {
  const res = await page.waitForResponse((r) => isTrackPost(r.request()) && match(r.request().postDataJSON() as TrackBody), { timeout: 15_000 });
  return {
    body: res.request().postDataJSON() as TrackBody,
    requestHeaders: await res.request().allHeaders(),
    status: res.status(),
    responseHeaders: await res.allHeaders(),
    responseText: await res.text(),
  };
}

const named = (type: string, name?: string) => (b: TrackBody) => b.type === type && (name === undefined || b.payload.name === name);

/** `window.op(...)` in the page, the way site code calls the tracker. */
async function op(page: Page, ...args: unknown[]): Promise<void> {
  await page.evaluate((a) => (globalThis as unknown as { op: (...x: unknown[]) => void }).op(...a), args);
}

async function readEvents(limit = 100): Promise<EventRow[]> {
  const res = await fetch(`${lp.url}/api/v1/projects/${project.projectId}/events?limit=${limit}`, {
    headers: { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: EventRow[] }).data;
}

/** Polls the read API until `done(rows)` holds (rows are written by the flush, every 50 ms here). */
async function waitForEvents(done: (rows: EventRow[]) => boolean, timeoutMs = 10_000): Promise<EventRow[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await readEvents();
    if (done(rows)) return rows;
    if (Date.now() > until) throw new Error(`timed out waiting for stored events; have: ${rows.map((r) => r.name).join(', ') || 'none'}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One key per SDK call: a resend of the same event has the same key. */
const callKey = (b: TrackBody) => `${b.type}:${b.payload.name ?? b.payload.profileId ?? ''}:${String(b.payload.properties?.__path ?? '')}`;

function countBy<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

/** The SDK's first retry comes 500 ms after a failed answer: wait past it before counting requests. */
async function settle(traffic: Traffic): Promise<void> {
  const last = Math.max(0, ...traffic.posts.map((p) => p.at));
  const wait = last + 800 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

// ---------------------------------------------------------------------------------------------

describe('@openpanel/web tracker against Livepanel in Chromium', () => {
  it('tracks screen views, custom events, data-track clicks, outgoing links and identify across two pages of one session', async () => {
    const context = await browser.newContext({ userAgent: desktopChromeUserAgent(browser), viewport: { width: 1000, height: 700 } });
    try {
      const page = await context.newPage();
      const traffic = await watch(context, page);
      const home = `${site.origin}/`;
      const pricing = `${site.origin}/pricing`;
      const searchReferrer = 'https://www.google.com/search?q=livepanel';

      // 1. Page load → screen_view (the visitor came from a Google search).
      const screenView1 = nextTrack(page, named('track', 'screen_view'));
      await page.goto(home, { referer: searchReferrer });
      const sv1 = await screenView1;
      if (process.env.LP_SCREENSHOT) await page.screenshot({ path: process.env.LP_SCREENSHOT, fullPage: true });

      // 2. A custom event from site code.
      const signupSent = nextTrack(page, named('track', 'signup'));
      await op(page, 'track', 'signup', { plan: 'pro' });
      const signup = await signupSent;

      // 3. A click on a data-track element.
      const ctaSent = nextTrack(page, named('track', 'cta_click'));
      await page.click('#cta');
      const cta = await ctaSent;

      // 4. Identify; later events of this page carry the profile id.
      const identifySent = nextTrack(page, named('identify'));
      await op(page, 'identify', { profileId: 'u-1', email: 'ann@example.com', firstName: 'Ann' });
      const identify = await identifySent;

      // 5. An outgoing link (another host; opens a new tab that has no tracker).
      const linkSent = nextTrack(page, named('track', 'link_out'));
      const popup = context.waitForEvent('page');
      await page.click('#docs');
      const linkOut = await linkSent;
      await (await popup).close();

      // 6. Navigate to a second page by an internal link: a new tracker instance, same visitor.
      const screenView2 = nextTrack(page, (b) => named('track', 'screen_view')(b) && b.payload.properties?.__path === pricing);
      await page.click('#pricing');
      const sv2 = await screenView2;
      expect(page.url()).toBe(pricing);

      const exchanges = { sv1, signup, cta, identify, linkOut, sv2 };

      // --- What the browser sent: the SDK's own wire format, cross-origin.
      expect(sv1.body.payload.properties).toMatchObject({ __path: home, __title: 'Home · Browser test', __referrer: searchReferrer });
      expect(signup.body.payload.properties).toMatchObject({ plan: 'pro', __path: home });
      expect(cta.body.payload.properties).toEqual({ __referrer: searchReferrer, position: 'hero', buttonLabel: 'Start free' });
      expect(identify.body).toMatchObject({ type: 'identify', payload: { profileId: 'u-1', email: 'ann@example.com', firstName: 'Ann' } });
      expect(linkOut.body.payload).toMatchObject({
        profileId: 'u-1',
        properties: { href: `${otherSite.origin.replace('127.0.0.1', 'localhost')}/docs`, text: 'Read the docs' },
      });
      expect(sv2.body.payload.properties).toMatchObject({ __path: pricing, __title: 'Pricing · Browser test', __referrer: home });
      for (const x of Object.values(exchanges)) {
        expect(x.requestHeaders).toMatchObject({
          'content-type': 'application/json',
          'openpanel-client-id': project.clientId,
          'openpanel-sdk-name': 'web',
          'openpanel-sdk-version': SDK_VERSION,
          origin: site.origin,
        });
        expect(x.requestHeaders['openpanel-client-secret']).toBeUndefined();
      }

      // --- What came back: 200 JSON with CORS for every event (anything else makes the SDK resend).
      const answers: Record<string, { deviceId: string; sessionId: string }> = {};
      for (const [k, x] of Object.entries(exchanges)) {
        expect(x.status, k).toBe(200);
        expect(x.responseHeaders['content-type'], k).toMatch(/^application\/json/);
        expect(x.responseHeaders['access-control-allow-origin'], k).toBe(site.origin);
        answers[k] = JSON.parse(x.responseText);
        expect(Object.keys(answers[k]!).sort(), k).toEqual(['deviceId', 'sessionId']);
      }
      const deviceId = answers.sv1!.deviceId;
      const sessionId = answers.sv1!.sessionId;
      expect(deviceId).not.toBe('');
      expect(sessionId).not.toBe('');
      for (const k of ['signup', 'cta', 'linkOut', 'sv2']) expect(answers[k], k).toEqual({ deviceId, sessionId });
      expect(answers.identify!.deviceId).toBe(deviceId);

      // One preflight, answered, then cached for the other five events (Access-Control-Max-Age).
      expect(traffic.preflights).toHaveLength(1);
      for (const p of traffic.preflights) {
        expect(p.status).toBe(204);
        expect(p.headers?.['access-control-allow-origin']).toBe(site.origin);
        expect(p.headers?.['access-control-allow-headers']).toMatch(/openpanel-client-id/);
        expect(Number(p.headers?.['access-control-max-age'])).toBeGreaterThan(0);
      }

      // --- What Livepanel stored.
      const expected = ['session_start', 'screen_view', 'signup', 'cta_click', 'link_out', 'screen_view'];
      const rows = (await waitForEvents((r) => r.length >= expected.length)).slice().reverse(); // oldest first
      if (process.env.LP_DEBUG) console.log(JSON.stringify(rows, null, 1));
      const byName = (n: string) => rows.filter((r) => r.name === n);
      expect(rows.map((r) => r.name).sort()).toEqual(expected.slice().sort());
      expect(byName('session_start')).toHaveLength(1);

      for (const r of rows) {
        expect(r.device_id, r.name).toBe(deviceId);
        expect(r.session_id, r.name).toBe(sessionId);
        expect(r.browser, r.name).toMatch(/^Chrom/);
        expect(r.browser_version, r.name).toBe(browser.version());
        expect(r.os, r.name).toBe('Linux');
        expect(r.device, r.name).toBe('desktop');
        expect(r.sdk_name, r.name).toBe('web');
        expect(r.sdk_version, r.name).toBe(SDK_VERSION);
        // Magic properties are consumed into columns, never stored as properties.
        expect(
          Object.keys(r.properties).filter((k) => k.startsWith('__')),
          r.name,
        ).toEqual([]);
      }

      const [start] = byName('session_start');
      const [view1, view2] = byName('screen_view');
      expect(start).toMatchObject({ path: '/', title: 'Home · Browser test', referrer_name: 'Google', referrer_type: 'search' });
      expect(view1).toMatchObject({
        path: '/',
        title: 'Home · Browser test',
        referrer: 'https://www.google.com/search', // the query is not kept
        referrer_name: 'Google',
        referrer_type: 'search',
        profile_id: '',
        properties: {},
      });
      // Same-site navigation is not a referrer.
      expect(view2).toMatchObject({ path: '/pricing', title: 'Pricing · Browser test', referrer: '', referrer_name: '', properties: {} });
      for (const r of [start, view1, view2, ...byName('signup')]) expect(r?.origin, r?.name).toBe(site.origin);
      expect(byName('signup')[0]).toMatchObject({ path: '/', title: '', referrer_name: 'Google', profile_id: '', properties: { plan: 'pro' } });
      // The tracker sends data-track clicks and outgoing links without a page (no __path, see
      // `super.track` in @openpanel/web): like upstream OpenPanel, Livepanel fills path and origin
      // from the page the session is on.
      expect(byName('cta_click')[0]).toMatchObject({
        path: '/',
        origin: site.origin,
        profile_id: '',
        properties: { position: 'hero', buttonLabel: 'Start free' },
      });
      expect(byName('link_out')[0]).toMatchObject({
        path: '/',
        origin: site.origin,
        profile_id: 'u-1',
        properties: { href: `${otherSite.origin.replace('127.0.0.1', 'localhost')}/docs`, text: 'Read the docs' },
      });
      // identify writes a profile, not an event; it was accepted once (and the SDK then put the
      // profile id on link_out).
      const metrics = await (await fetch(`${lp.url}/metrics`)).text();
      expect(metrics).toMatch(/^livepanel_events_accepted_total\{transport="track",type="identify"\} 1$/m);

      // --- Exactly one POST /track per event: no resends, so every answer was right.
      await settle(traffic);
      expect(
        countBy(
          traffic.posts.map((p) => p.body),
          callKey,
        ),
      ).toEqual(
        countBy(
          Object.values(exchanges).map((x) => x.body),
          callKey,
        ),
      );
      expect(traffic.posts).toHaveLength(6);
      expect(traffic.console).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses a page on an origin the project does not allow (401, not retried) and stores nothing of it', async () => {
    const before = await readEvents(1000);
    const context = await browser.newContext({ userAgent: desktopChromeUserAgent(browser) });
    try {
      const page = await context.newPage();
      const traffic = await watch(context, page);

      const viewSent = nextTrack(page, named('track', 'screen_view'));
      await page.goto(`${otherSite.origin}/`);
      const view = await viewSent;
      const signupSent = nextTrack(page, named('track', 'signup'));
      await op(page, 'track', 'signup', { plan: 'pro' });
      const signup = await signupSent;

      for (const x of [view, signup]) {
        expect(x.requestHeaders.origin).toBe(otherSite.origin);
        expect(x.status).toBe(401);
        // CORS headers on the error too, or the SDK would see a network error and retry.
        expect(x.responseHeaders['access-control-allow-origin']).toBe(otherSite.origin);
        expect(JSON.parse(x.responseText)).toMatchObject({ error: { code: 'origin_not_allowed' } });
      }

      await settle(traffic);
      expect(
        countBy(
          traffic.posts.map((p) => p.body),
          callKey,
        ),
      ).toEqual(countBy([view.body, signup.body], callKey));
      // The only console output is Chromium's own note about the failed requests, not the SDK's.
      expect(traffic.console.filter((m) => !/status of 401/.test(m))).toEqual([]);

      // Nothing stored: the rows are exactly those of before (acks follow the flush, and
      // 10 flush intervals have passed since the refusals).
      const after = await readEvents(1000);
      expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
      expect(after.filter((r) => r.origin === otherSite.origin)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("drops headless Chromium's own user agent as a bot (202, not retried, not stored)", async () => {
    const before = await readEvents(1000);
    const context = await browser.newContext(); // HeadlessChrome/… user agent
    try {
      const page = await context.newPage();
      const traffic = await watch(context, page);
      const viewSent = nextTrack(page, named('track', 'screen_view'));
      await page.goto(`${site.origin}/pricing`);
      const view = await viewSent;
      expect(view.requestHeaders['user-agent']).toMatch(/HeadlessChrome/);
      expect(view.status).toBe(202);
      expect(view.responseHeaders['access-control-allow-origin']).toBe(site.origin);
      expect(JSON.parse(view.responseText)).toEqual({ dropped: 'bot' });

      await settle(traffic);
      expect(traffic.posts).toHaveLength(1);
      expect(traffic.console).toEqual([]);
      const after = await readEvents(1000);
      expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    } finally {
      await context.close();
    }
  });
});
