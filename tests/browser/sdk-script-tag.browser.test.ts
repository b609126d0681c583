/**
 * Livepanel's own browser SDK, installed with one script tag served by Livepanel (`/lp.js`),
 * in real headless Chromium against a running Livepanel: calls queued by the stub before the
 * script loads, screen views on load and on SPA navigation (History API and hash), `data-track`
 * clicks, outgoing links, identify — over one WebSocket per tab, every event stored once with
 * one device and session. Also: `/lp.js` and its hashed twin served with the right headers;
 * `window.WebSocket` removed (everything over `POST /batch`); leaving the page with events
 * still pending (they arrive); leaving within the page view's title wait (the view still
 * counts); N tabs → presence N, closed → 0; two tabs share a device.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchDesktopChromium, type StaticSite, startStaticSite } from '../support/browser.ts';
import { type Reader, reader } from '../support/e2e.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';
import { scriptTagPage, waitForRows, watchPresence } from '../support/sdk-pages.ts';

let browser: Browser;
let lp: TestServer;
let site: StaticSite;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: Reader;

beforeAll(async () => {
  browser = await launchDesktopChromium();
  [lp, site] = await Promise.all([startTestServer(), startStaticSite()]);
  project = await lp.createProject('SDK site', site.origin);
  read = reader(lp.url, project.projectId, project, () => lp.settle());
  const page = (title: string, body = '', early = '') => scriptTagPage({ scriptSrc: `${lp.url}/lp.js`, clientId: project.clientId, title, body, early });
  site.page(
    '/',
    page(
      'Home',
      `<h1>Home</h1>
<button id="cta" data-track="cta_click" data-plan-name="pro">Start</button>
<a id="out" href="http://localhost:9/docs">Docs</a>
<a id="spa" href="/app/settings" onclick="event.preventDefault(); history.pushState({}, '', '/app/settings?utm_source=newsletter'); document.title = 'Settings'">Settings</a>
<a id="hash" href="#pricing">Pricing</a>`,
      `lp('identify', { profileId: 'u-1', email: 'ann@example.com' }); lp('track', 'early', { n: 1 });`,
    ),
  );
  site.page('/plain', page('Plain'));
  site.page('/bounce', page('Bounce'));
  site.page('/elsewhere', '<!doctype html><title>No tracker</title><p>elsewhere</p>');
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([lp?.destroy(), site?.close()]);
});

const newContext = () => browser.newContext();

/** Requests the page makes to Livepanel: `/batch` posts and `/ws` sockets. */
function traffic(page: Page) {
  const t = { batches: 0, sockets: 0, errors: [] as string[] };
  page.on('request', (r) => {
    if (r.url().startsWith(`${lp.url}/batch`)) t.batches++;
  });
  page.on('websocket', (ws) => {
    if (ws.url().includes('/ws?')) t.sockets++;
  });
  page.on('pageerror', (e) => t.errors.push(e.message));
  return t;
}

/** The visitor follows a link to a page without the tracker (as leaving the site). */
async function leaveForUntrackedPage(page: Page) {
  await page.evaluate((to) => {
    (globalThis as unknown as { location: { href: string } }).location.href = to;
  }, `${site.origin}/elsewhere`);
  await page.waitForURL(`${site.origin}/elsewhere`);
}

const lpCall = (page: Page, ...args: unknown[]) => page.evaluate((a) => (globalThis as unknown as { lp: (...x: unknown[]) => unknown }).lp(...a), args);

describe('the /lp.js script tag in Chromium', () => {
  it('is served as JavaScript to any origin, with a short cache, and immutable under its content hash', async () => {
    const plain = await fetch(`${lp.url}/lp.js`, { headers: { origin: 'https://any.example' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('access-control-allow-origin')).toBe('*');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=300');
    const body = await plain.text();
    const etag = plain.headers.get('etag')!;
    const hash = etag.replaceAll('"', '');
    const hashed = await fetch(`${lp.url}/lp.${hash}.js`, { headers: { 'accept-encoding': 'br' } });
    expect(hashed.status).toBe(200);
    expect(hashed.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await hashed.text()).toBe(body);
    expect((await fetch(`${lp.url}/lp.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${lp.url}/lp.0000000000.js`)).status).toBe(404);
  });

  it('tracks queued calls, screen views on load and SPA navigation, clicks, links and identify over one socket; stored once each', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      const t = traffic(page);
      const presence = await watchPresence(lp.url, project);
      await page.goto(`${site.origin}/`, { referer: 'https://www.google.com/search?q=x' });
      await presence.waitFor(1);
      await page.click('#cta');
      await page.click('#out', { modifiers: ['Control'] }).catch(() => {});
      await page.click('#spa');
      await page.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title === 'Settings');
      await page.click('#hash');
      await lpCall(page, 'track', 'signup', { plan: 'pro' });
      await lpCall(page, 'revenue', 1999, { currency: 'EUR' });
      await lpCall(page, 'increment', 'logins');

      const rows = await waitForRows(
        () => read.events(),
        (r) => r.filter((x) => x.name !== 'session_start').length >= 8,
      );
      const names = rows.map((r) => r.name);
      expect(names.filter((n) => n === 'screen_view')).toHaveLength(3);
      for (const n of ['early', 'cta_click', 'link_out', 'signup', 'revenue', 'session_start'])
        expect(
          names.filter((x) => x === n),
          n,
        ).toHaveLength(1);
      const byName = (n: string) => rows.filter((r) => r.name === n);
      const [load, spa, hash] = byName('screen_view');
      expect(load).toMatchObject({ path: '/', title: 'Home', referrer_name: 'Google' });
      expect(spa).toMatchObject({ path: '/app/settings', title: 'Settings', utm_source: 'newsletter' });
      expect(hash!.properties).toBeDefined();
      expect(byName('cta_click')[0]!.properties).toMatchObject({ planName: 'pro' });
      expect(byName('link_out')[0]!.properties).toMatchObject({ href: 'http://localhost:9/docs', text: 'Docs' });
      expect(byName('revenue')[0]!.revenue).toBe(1999);
      // The queued identify came before the tracked events: every event after it carries the profile.
      for (const n of ['early', 'cta_click', 'signup']) expect(byName(n)[0]!.profile_id, n).toBe('u-1');
      const profile = await read.profile('u-1');
      expect(profile).toMatchObject({ email: 'ann@example.com' });
      // One device, one session, the web SDK, all over the one socket.
      expect(new Set(rows.map((r) => r.device_id)).size).toBe(1);
      expect(new Set(rows.map((r) => r.session_id)).size).toBe(1);
      expect(new Set(rows.filter((r) => r.name !== 'session_start').map((r) => r.sdk_name))).toEqual(new Set(['web']));
      expect(t.sockets).toBe(1);
      expect(t.batches).toBe(0);
      expect(t.errors).toEqual([]);
      await page.close();
      await presence.waitFor(0);
      presence.close();
    } finally {
      await context.close();
    }
  });

  it('sends everything over POST /batch when window.WebSocket is missing', async () => {
    const context = await newContext();
    try {
      await context.addInitScript(() => {
        delete (globalThis as { WebSocket?: unknown }).WebSocket;
      });
      const page = await context.newPage();
      const t = traffic(page);
      await page.goto(`${site.origin}/plain?no-ws`);
      await page.waitForFunction(() => typeof (globalThis as { lp?: { q?: unknown } }).lp === 'function' && !(globalThis as { lp?: { q?: unknown } }).lp!.q);
      for (let i = 0; i < 30; i++) await lpCall(page, 'track', 'no_socket', { i });
      const rows = await waitForRows(
        () => read.events(),
        (r) => r.filter((x) => x.name === 'no_socket').length >= 30,
      );
      expect(rows.filter((r) => r.name === 'no_socket').map((r) => Number(r.properties.i))).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(rows.some((r) => r.name === 'screen_view' && r.path === '/plain')).toBe(true);
      expect(t.sockets).toBe(0);
      expect(t.batches).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });

  it('delivers events still pending when the visitor navigates away', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      // The page's socket opens but never reaches Livepanel (a proxy that swallows frames): its
      // batches are never acknowledged, so only the send made while leaving can deliver them.
      let framesSwallowed = 0;
      await page.routeWebSocket(/\/ws\?/, (ws) => ws.onMessage(() => framesSwallowed++));
      await page.goto(`${site.origin}/plain?leaving`);
      await page.waitForFunction(() => !(globalThis as { lp?: { q?: unknown } }).lp!.q);
      await page.evaluate(() => {
        const lp = (globalThis as unknown as { lp: (...a: unknown[]) => void }).lp;
        for (let i = 0; i < 25; i++) lp('track', 'before_leaving', { i });
      });
      await expect.poll(() => framesSwallowed, { timeout: 10_000 }).toBeGreaterThan(1);
      await leaveForUntrackedPage(page);
      const rows = await waitForRows(
        () => read.events(),
        (r) => r.filter((x) => x.name === 'before_leaving').length >= 25,
      );
      expect(rows.filter((r) => r.name === 'before_leaving')).toHaveLength(25);
    } finally {
      await context.close();
    }
  });

  it('counts the page view of a visitor who leaves during its title wait (a quick bounce)', async () => {
    const context = await newContext();
    try {
      const page = await context.newPage();
      // The page's clock stands still from before it loads: the page view's 50 ms wait for the
      // title never ends by itself, so only leaving can send it.
      const now = Date.now();
      await page.clock.install({ time: now });
      await page.clock.pauseAt(now + 1000);
      await page.goto(`${site.origin}/bounce`);
      await page.waitForFunction(() => !(globalThis as { lp?: { q?: unknown } }).lp!.q);
      await leaveForUntrackedPage(page);
      const rows = await waitForRows(
        () => read.events(),
        (r) => r.some((x) => x.name === 'screen_view' && x.path === '/bounce'),
        30_000,
      );
      expect(rows.filter((r) => r.name === 'screen_view' && r.path === '/bounce')).toMatchObject([{ title: 'Bounce' }]);
    } finally {
      await context.close();
    }
  });

  it('counts N open tabs of one browser as N sockets and one visitor online, 0 once closed; the tabs share a device id', async () => {
    // One visitor since presence counts distinct devices (two tabs of one browser are one
    // visitor); the tabs still each hold a socket.
    const presence = await watchPresence(lp.url, project);
    const context = await newContext();
    try {
      await presence.waitFor(0, 0);
      const tabs: Page[] = [];
      for (let i = 0; i < 3; i++) {
        const tab = await context.newPage();
        await tab.goto(`${site.origin}/plain?tab=${i}`);
        tabs.push(tab);
        await presence.waitFor(1, i + 1);
      }
      const devices = await Promise.all(
        tabs.map((tab) => tab.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('lp_d'))),
      );
      expect(new Set(devices).size).toBe(1);
      expect(devices[0]).toBeTruthy();
      for (const tab of tabs) await tab.close();
      await presence.waitFor(0, 0);
    } finally {
      presence.close();
      await context.close();
    }
  });
});
