/**
 * The dashboard's realtime view in real headless Chromium, served by Livepanel itself (the
 * `web` role's uWS app): sign in as a user, then watch traffic arrive — events sent
 * over `/track` and over an SDK socket (`/ws`) show up as the event count, the path in top
 * pages, the country, the feed entry, and presence goes 1 while the SDK socket is open and 0
 * once it closes. Everything is pushed (ticks, presence); the test only polls the DOM.
 * Guards against: the dashboard not being served next to the API, the live channel not
 * reaching the page, ticks not merged or not rendered, presence stuck after a socket closes.
 *
 * LP_SCREENSHOT=/tmp/dashboard.png saves a screenshot of the populated view.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, selectorText, waitForText as waitForSelectorText } from '../support/browser.ts';
import { CHROME_UA } from '../support/e2e.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';
import { openWs, type WsClient } from '../support/ws-client.ts';

let browser: Browser;
let lp: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string }; // root client: sends events
const USER = { email: 'watcher@example.com', password: 'watching the launch' };
const sockets: WsClient[] = [];

beforeAll(async () => {
  browser = await launchChromium(); // fails (with the install hint) when Chromium is missing
  lp = await startTestServer();
  project = await lp.createProject('Dashboard test', 'example.com');
  await lp.admin('create-user', USER); // the first user: owner of the organisation the project is in
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await browser?.close();
  await lp?.destroy();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const WAIT_MS = 20_000;

const byTestId = (testid: string) => `[data-testid="${testid}"]`;
/** Text of the element for `testid` ('' while it is not rendered). */
const text = (page: Page, testid: string) => selectorText(page, byTestId(testid));
/** Polls the element's text until `ok` holds; fails with the last text seen. */
const waitForText = (page: Page, testid: string, ok: (t: string) => boolean, what: string) => waitForSelectorText(page, byTestId(testid), ok, what, WAIT_MS);

/** A server SDK's `/track` (secret, a visitor's IP and browser forwarded). */
async function track(name: string, url: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${lp.url}/track`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'openpanel-client-id': project.clientId,
      'openpanel-client-secret': project.clientSecret,
      'user-agent': CHROME_UA,
    },
    body: JSON.stringify({ type: 'track', payload: { name, properties: { __path: url, __ip: '8.8.8.8', ...extra } } }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function signIn(context: BrowserContext, query = ''): Promise<Page> {
  const page = await context.newPage();
  // Straight to the realtime view: signed out, it sends us to sign-in and back here after.
  await page.goto(`${lp.url}/projects/${project.projectId}/realtime${query}`);
  await page.waitForURL((u) => u.pathname === '/sign-in');
  await page.fill('input[name="email"]', USER.email);
  await page.fill('input[name="password"]', USER.password);
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.pathname === `/projects/${project.projectId}/realtime`);
  return page;
}

// ---------------------------------------------------------------------------------------------

describe('realtime dashboard in Chromium', () => {
  it('shows traffic from /track and an SDK socket as it happens, and presence while the socket is open', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const problems: string[] = [];
    try {
      const page = await signIn(context);
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });

      await waitForText(page, 'connection', (t) => t === 'live', 'the live channel to connect and the tiles to sync');
      await waitForText(page, 'tile-online-visitors', (t) => t === '0', 'presence 0 (no SDK socket yet)');
      expect(await text(page, 'tile-value-events')).toBe('0');

      // Three page views over HTTP, from a US address, arriving from a Google search.
      for (let i = 0; i < 3; i++) await track('screen_view', 'https://example.com/pricing', { __referrer: 'https://www.google.com/search?q=x' });
      await waitForText(page, 'tile-value-events', (t) => t === '3', '3 events in the last 30 minutes');
      await waitForText(page, 'tile-value-pages', (t) => t.includes('/pricing 3'), '/pricing with 3 views in top pages');
      await waitForText(page, 'tile-value-countries', (t) => t.includes('United States'), 'the visitor country');
      await waitForText(page, 'tile-value-referrers', (t) => t.includes('Google 1'), 'one session from Google');
      await waitForText(page, 'tile-value-feed', (t) => t.includes('screen_view /pricing'), 'the page view in the feed');

      // An SDK socket: presence goes to 1 while it is open.
      const ws = await openWs(lp.url, { clientId: project.clientId }, { 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA });
      sockets.push(ws);
      await waitForText(page, 'tile-online-visitors', (t) => t === '1', 'presence 1 with the SDK socket open');

      const ack = await ws.batch(1, [
        { id: 'dash-1', type: 'track', payload: { name: 'signup', properties: { __path: 'https://example.com/welcome', __ip: '8.8.8.8' } } },
      ]);
      expect(ack).toMatchObject({ type: 'ack', seq: 1, accepted: 1 });
      await waitForText(page, 'tile-value-events', (t) => t === '4', '4 events in the last 30 minutes');
      const feed = await waitForText(page, 'tile-value-feed', (t) => t.includes('signup /welcome'), 'the socket event in the feed');
      expect(feed.indexOf('signup /welcome')).toBeLessThan(feed.indexOf('screen_view /pricing')); // newest first
      await waitForText(page, 'tile-value-pages', (t) => t.includes('/pricing 3'), 'top pages unchanged by a non-page event');

      if (process.env.LP_SCREENSHOT) await page.screenshot({ path: process.env.LP_SCREENSHOT, fullPage: true });

      await ws.close();
      await waitForText(page, 'tile-online-visitors', (t) => t === '0', 'presence 0 after the socket closed');
      expect(await text(page, 'connection')).toBe('live');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('signing out everywhere disconnects the live view within seconds; TV mode drops the top bar', async () => {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    try {
      const page = await signIn(context, '?tv=1');
      await waitForText(page, 'connection', (t) => t === 'live', 'the live channel to connect');
      expect(new URL(page.url()).searchParams.get('tv')).toBe('1');
      expect(await page.$('header')).toBeNull();
      // Another tab of the same browser signs out everywhere: the open socket is revoked, its retry refused.
      const me = (await (await context.request.get(`${lp.url}/api/auth/me`)).json()) as { csrfToken: string };
      const out = await context.request.post(`${lp.url}/api/auth/sign-out-everywhere`, { headers: { origin: lp.url, 'x-livepanel-csrf': me.csrfToken } });
      expect(out.status()).toBe(200);
      await waitForText(page, 'connection', (t) => t === 'refused', 'the refusal after sign-out everywhere');
      expect(await page.textContent('[role="alert"]')).toMatch(/Sign in again/);
    } finally {
      await context.close();
    }
  });
});
