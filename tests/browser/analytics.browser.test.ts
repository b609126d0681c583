/**
 * The analytics pages in headless Chromium on a seeded project: a signed-in user opens the
 * overview (cards, chart, breakdowns, map), click a source row to filter the whole view,
 * change the range, reload and get the same view back, then open a profile and a session.
 * Also the empty state of a project without events. Every number on screen comes from
 * `POST /api/v1/query`; the test checks them against what it seeded.
 *
 * LP_SCREENSHOT_DIR=/tmp/lp saves screenshots of the pages it visits.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, selectorText as text, waitForText } from '../support/browser.ts';
import { CHROME_UA, IPHONE_UA, post, waitUntil } from '../support/e2e.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';

let browser: Browser;
let lp: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: { clientId: string; clientSecret: string };
const USER = { email: 'analyst@example.com', password: 'reading the numbers' };
const shots = process.env.LP_SCREENSHOT_DIR;

/** Visits over the last three days: 3 from Google (2 devices), 2 direct, one identified. */
function seed() {
  const now = Date.now();
  const at = (hoursAgo: number, i: number) => new Date(now - hoursAgo * 3_600_000 + i * 1000).toISOString();
  const visit = (device: string, hoursAgo: number, paths: string[], extra: object = {}) =>
    paths.map((p, i) => ({
      type: 'track',
      payload: {
        name: 'screen_view',
        properties: {
          __timestamp: at(hoursAgo, i),
          __path: `https://shop.example.com${p}`,
          __deviceId: device,
          __userAgent: device === 'ios' ? IPHONE_UA : CHROME_UA,
          __ip: '8.8.8.8',
          ...(i === 0 ? extra : {}),
        },
      },
    }));
  const google = { __referrer: 'https://www.google.com/search?q=shoes' };
  return [
    ...visit('alice', 50, ['/', '/pricing', '/signup'], google),
    {
      type: 'track',
      payload: {
        name: 'signup',
        profileId: 'alice-1',
        properties: {
          __timestamp: at(50, 5),
          __path: 'https://shop.example.com/signup',
          __deviceId: 'alice',
          __userAgent: CHROME_UA,
          __ip: '8.8.8.8',
          plan: 'pro',
        },
      },
    },
    { type: 'identify', payload: { profileId: 'alice-1', firstName: 'Alice', lastName: 'Liddell', email: 'alice@example.com', properties: { plan: 'pro' } } },
    ...visit('bob', 26, ['/'], google),
    ...visit('alice', 20, ['/docs'], google),
    ...visit('ios', 10, ['/', '/pricing']),
    ...visit('carol', 5, ['/blog/launch']),
  ];
}

beforeAll(async () => {
  browser = await launchChromium();
  lp = await startTestServer({ SESSION_REAP_INTERVAL_MS: '200', QUERY_CACHE_LIVE_TTL_MS: '0' });
  project = await lp.createProject('Shop', 'shop.example.com');
  read = await lp.createClient(project.projectId, 'read');
  await lp.admin('create-user', USER); // the first user: owner of the organisation the project is in
  const r = await post(`${lp.url}/batch`, { events: seed() }, { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret });
  expect(r.status, r.text).toBe(200);
  // Every visit is long over: the reaper closes them all.
  await waitUntil(async () => {
    await lp.settle();
    const res = await fetch(`${lp.url}/api/v1/projects/${project.projectId}/sessions`, {
      headers: { 'openpanel-client-id': read.clientId, 'openpanel-client-secret': read.clientSecret },
    });
    return ((await res.json()) as { data: unknown[] }).data.length === 5;
  }, 30_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await lp?.destroy();
});

const card = (metric: string) => `[data-metric="${metric}"] .value`;

/** Opens a project page signed out: sign-in, then back to that page. */
async function signIn(context: BrowserContext, path: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${lp.url}/projects/${project.projectId}/${path}`);
  await page.waitForURL((u) => u.pathname === '/sign-in');
  await page.fill('input[name="email"]', USER.email);
  await page.fill('input[name="password"]', USER.password);
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.pathname === `/projects/${project.projectId}/${path}`);
  return page;
}

describe('analytics pages in Chromium', () => {
  it('overview → filter by clicking a row → change the range → reload → same view; then a profile and a session', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const problems: string[] = [];
    try {
      const page = await signIn(context, 'overview');
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      await page.waitForURL((u) => u.pathname === `/projects/${project.projectId}/overview`);

      // 4 devices, 5 visits, 8 page views over the last 30 days.
      await waitForText(page, card('visitors'), (t) => t === '4', '4 visitors');
      expect(await text(page, card('sessions'))).toBe('5');
      expect(await text(page, card('pageviews'))).toBe('8');
      await page.waitForSelector('[data-testid="series-chart"] canvas');
      await page.waitForSelector('[data-testid="world-map"] path[data-country="US"]');
      await waitForText(page, '[data-testid="breakdown-sources"]', (t) => t.includes('Google'), 'Google in the sources');
      if (shots) await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });

      // Click the Google row: the whole view narrows to visits from Google.
      await page.click('[data-testid="breakdown-sources"] button:has-text("Google")');
      await page.waitForURL((u) => u.searchParams.getAll('f').includes('is,session:referrer_name,Google'));
      await waitForText(page, card('sessions'), (t) => t === '3', '3 visits from Google');
      expect(await text(page, card('visitors'))).toBe('2');
      expect(await text(page, '[data-testid="filter-chip"]')).toContain('Source is Google');

      // Narrow the range to yesterday-and-today (the 50-hour-old visit falls out).
      await page.selectOption('[data-testid="range"]', '24h');
      await page.waitForURL((u) => u.searchParams.get('range') === '24h');
      await waitForText(page, card('sessions'), (t) => t === '1', 'one Google visit in the last 24 hours');

      // Reload: same URL, same view.
      const url = page.url();
      await page.reload();
      expect(page.url()).toBe(url);
      await waitForText(page, card('sessions'), (t) => t === '1', 'the same view after a reload');
      expect(await page.inputValue('[data-testid="range"]')).toBe('24h');
      expect(await text(page, '[data-testid="filter-chip"]')).toContain('Source is Google');

      // Remove the filter from its chip; the counts come back.
      await page.click('[data-testid="filter-chip"] button');
      await waitForText(page, card('sessions'), (t) => t === '3', '3 visits in the last 24 hours');

      // Profiles: search, open one, see its properties and activity.
      await page.click('nav[aria-label="Project"] a:has-text("Profiles")');
      await page.fill('[data-testid="profile-search"]', 'alice');
      await page.press('[data-testid="profile-search"]', 'Enter');
      await waitForText(page, '[data-testid="profiles"]', (t) => t.includes('Alice Liddell'), 'Alice in the profile list');
      await page.click('[data-testid="profiles"] a:has-text("Alice Liddell")');
      await waitForText(page, '[data-testid="profile-name"]', (t) => t === 'Alice Liddell', "Alice's profile");
      await waitForText(page, '[data-testid="profile-properties"]', (t) => t.includes('plan') && t.includes('pro'), 'her properties');
      await waitForText(page, '[data-testid="timeline"]', (t) => t.includes('signup'), 'her signup in her events');
      if (shots) await page.screenshot({ path: `${shots}/profile.png`, fullPage: true });

      // Sessions: the list, then one session's timeline.
      await page.click('nav[aria-label="Project"] a:has-text("Sessions")');
      await waitForText(page, '[data-testid="sessions"]', (t) => t.includes('/pricing'), 'the sessions list');
      await page.click('[data-testid="sessions"] tbody tr:first-child a');
      await waitForText(page, '[data-testid="timeline"]', (t) => t.includes('session_start') && t.includes('screen_view'), 'a session timeline');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows every analytics page without errors, and the empty state of a project with no events', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    try {
      const page = await signIn(context, 'pages');
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      await waitForText(page, '[data-testid="breakdown-pages"]', (t) => t.includes('/pricing'), 'the pages list');
      for (const [path, testid, expected] of [
        ['sources', 'breakdown-sources', 'Google'],
        ['geo', 'breakdown-countries', 'United States'],
        ['devices', 'breakdown-types', 'desktop'],
        ['events', 'event-names', 'screen_view'],
      ] as const) {
        await page.click(`nav[aria-label="Project"] a[href*="/${path}"]`);
        await waitForText(page, `[data-testid="${testid}"]`, (t) => t.includes(expected), `${path} to show ${expected}`);
        if (shots) await page.screenshot({ path: `${shots}/${path}.png`, fullPage: true });
      }
      // Events: the latest stored events open the live list; pick one event, break it down by a property.
      await waitForText(page, '[data-testid="feed"]', (t) => t.includes('screen_view /blog/launch'), 'the latest events in the live list');
      await page.click('[data-testid="event-names"] button:has-text("signup")');
      await waitForText(page, '[data-testid="event-properties"]', (t) => t.includes('plan'), 'the signup properties');
      await page.click('[data-testid="event-properties"] .keys button:has-text("plan")');
      await waitForText(page, '[data-testid="breakdown-prop-plan"]', (t) => t.includes('pro'), 'signups by plan');

      // A project of the same organisation with nothing sent yet.
      const empty = await lp.createProject('Empty', 'empty.example.com');
      await page.goto(`${lp.url}/projects/${empty.projectId}/overview`);
      await waitForText(page, '[data-testid="empty-project"]', (t) => t.includes('No events yet'), 'the empty state');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
