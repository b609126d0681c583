/**
 * A filtered realtime share link's TV URL in headless Chromium, in a fresh context with no
 * cookies: the link's fixed filter (path is /pricing) shows as a chip with no remove button, the
 * tiles it has no exact live count of (visitors online, visits by source) are not shown, and
 * the numbers are the filtered ones — from the store (backfill) and then live: events sent
 * while the TV watches move it only when they match. Guards against: a filtered live link
 * showing whole-project numbers, its filter being removable, a TV of a filtered link refused,
 * a link made from a filtered overview losing the overview's filters.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiSession, apiCall, apiSignIn, signInContext, text, track, waitFor } from '../support/boards.ts';
import { launchChromium } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';

const USER = { email: 'pricing@example.com', password: 'pricing tv password' };
let browser: Browser;
let lp: TestServer;
let s: ApiSession;
let projectId: string;

beforeAll(async () => {
  browser = await launchChromium();
  lp = await startTestServer({ QUERY_CACHE_LIVE_TTL_MS: '0' });
});

afterAll(async () => {
  await browser?.close();
  await lp?.destroy();
});

const pathOf = (p: string) => `https://shop.example.com${p}`;

describe('a filtered realtime share on a TV', () => {
  it('shows the fixed filter, no presence, and only the filtered numbers, backfilled then live', async () => {
    const project = await lp.createProject('Shop', 'shop.example.com');
    projectId = project.projectId;
    await lp.admin('create-user', USER);
    s = await apiSignIn(lp.url, USER.email, USER.password);
    // Before the TV opens: 3 page views of /pricing, 4 elsewhere.
    for (const p of ['/pricing', '/', '/docs', '/pricing', '/blog', '/pricing', '/']) await track(lp.url, project, 'screen_view', { __path: pathOf(p) });
    const share = await apiCall<{ tvUrl: string }>(s, 'POST', `/api/v1/projects/${project.projectId}/shares`, {
      name: 'Pricing TV',
      target: { kind: 'realtime' },
      filter: [['is', 'event:path', ['/pricing']]],
    });

    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(share.tvUrl);
    await page.waitForSelector('[data-testid="board"][data-link="live"]', { timeout: 30_000 });

    expect(await text(page, 'share-fixed-filter')).toContain('/pricing');
    expect(await page.$$('[data-testid="share-fixed-filter"] button')).toHaveLength(0);
    expect(await text(page, 'share-hidden-tiles')).toMatch(/Visitors/i);
    expect(await page.$('[data-testid="tile-visitors"]')).toBeNull();
    expect(await page.$('[data-testid="tile-referrers"]')).toBeNull();

    // The store's answer for the filter: /pricing's 3 page views, no other page.
    const pages = () => text(page, 'tile-value-pages');
    await waitFor(pages, (t) => /\/pricing\s*3\b/.test(t), 'the pages tile to show /pricing 3');
    expect(await pages()).not.toMatch(/\/docs|\/blog/);
    await waitFor(
      () => text(page, 'tile-value-events'),
      (t) => t === '3',
      'events per minute over 30 minutes: 3',
    );

    // Live: two more on /pricing and three elsewhere while the TV watches.
    for (const p of ['/docs', '/pricing', '/', '/pricing', '/blog']) await track(lp.url, project, 'screen_view', { __path: pathOf(p) });
    await waitFor(pages, (t) => /\/pricing\s*5\b/.test(t), 'the pages tile to show /pricing 5');
    await waitFor(
      () => text(page, 'tile-value-events'),
      (t) => t === '5',
      'events: 5',
    );
    const feed = await text(page, 'tile-value-feed');
    expect(feed).toContain('/pricing');
    expect(feed).not.toMatch(/\/docs|\/blog/);
    expect(await pages()).not.toMatch(/\/docs|\/blog/);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a link made from a filtered overview is offered its filters, and its TV shows them', async () => {
    const context = await browser.newContext();
    await signInContext(context, s);
    const page = await context.newPage();
    await page.goto(`${lp.url}/projects/${projectId}/overview?f=${encodeURIComponent('is,event:path,/pricing')}`);
    await page.click('[data-testid="share-filtered"]');
    await page.waitForSelector('[data-testid="create-share"]');
    expect(await page.inputValue('[data-testid="share-filter"]')).toBe('is,event:path,/pricing');
    await page.selectOption('select[name="kind"]', 'realtime');
    await page.fill('input[name="name"]', 'From the overview');
    await page.click('[data-testid="create-share"] button[type="submit"]');
    await page.waitForSelector('[data-testid="share-tv-url"]');
    const tvUrl = await page.inputValue('[data-testid="share-tv-url"]');
    await context.close();

    const tv = await browser.newContext();
    const screen = await tv.newPage();
    await screen.goto(tvUrl);
    await screen.waitForSelector('[data-testid="board"][data-link="live"]', { timeout: 30_000 });
    expect(await text(screen, 'share-fixed-filter')).toContain('/pricing');
    await waitFor(
      () => text(screen, 'tile-value-pages'),
      (t) => /\/pricing\s*5\b/.test(t),
      'the pages tile to show /pricing 5',
    );
    await tv.close();
  });
});
