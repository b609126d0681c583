/**
 * Boards in real headless Chromium, served by Livepanel itself:
 *  1. A signed-in owner opens a launch board (a goal tile "signups since …", a sparkline, a live
 *     map, the feed) while events stream in: the goal tile starts from what was stored before
 *     the page opened (backfill) and ends exactly at the number of signups sent (no gap, nothing
 *     twice), the goal's milestone flashes when crossed, the map shows points in the visitors'
 *     countries, and clicking a feed event shows its properties.
 *  2. The TV URL of a board's share link survives a server restart: while the server is down it
 *     shows "reconnecting" and no numbers (never stale ones as live), and once the server is
 *     back it re-syncs by itself to the stored total, including events sent after the restart.
 *  3. A member edits a board in the dashboard (adds a goal tile, renames, saves: stored, still
 *     there after a reload); a viewer watches the same board without any editing control.
 *  4. A TV share URL with `rotate=<another link>&every=5` shows the two boards in turn.
 * Guards against: tiles counting from zero when the page opens, seams between backfill and
 * ticks, TVs freezing on stale numbers or never coming back after a restart, edits lost or
 * open to viewers, rotation stuck on one board.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Board, BoardLayoutInput } from '../../shared/boards.ts';
import {
  type ApiSession,
  apiCall,
  apiSignIn,
  createBoard,
  linkState,
  shareBoard,
  signInContext,
  text,
  track,
  VISITOR_IPS,
  waitFor,
} from '../support/boards.ts';
import { launchChromium } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';
import { serverProcess } from '../support/process.ts';

const USER = { email: 'launch@example.com', password: 'launch day password' };
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A refused or dropped socket while the server restarts is expected noise; script errors are not.
    if (msg.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|socket\.io|Failed to load resource/.test(msg.text()))
      problems.push(`console: ${msg.text()}`);
  });
  return problems;
}

async function setUp(lp: TestServer) {
  const project = await lp.createProject('Launch', 'example.com');
  await lp.admin('create-user', USER);
  const session = await apiSignIn(lp.url, USER.email, USER.password);
  return { project, session };
}

const launchLayout = (since: string, goal: number): BoardLayoutInput => ({
  tiles: [
    {
      id: 'signups',
      type: 'number',
      title: 'Signups',
      filters: [['is', 'event:name', ['signup']]],
      since: { kind: 'at', at: since },
      goal,
      unit: 'signups',
      w: 2,
    },
    { id: 'rate', type: 'sparkline', minutes: 10 },
    { id: 'map', type: 'map', w: 2, h: 2, minutes: 10 },
    { id: 'feed', type: 'feed', w: 2, h: 2 },
  ],
});

describe('a launch board in Chromium', () => {
  let lp: TestServer;
  let session: ApiSession;
  let project: { projectId: string; clientId: string; clientSecret: string };

  beforeAll(async () => {
    lp = await startTestServer();
    ({ project, session } = await setUp(lp));
  });

  afterAll(async () => {
    await lp?.destroy();
  });

  it('counts a goal tile from the backfill on, exactly, flashes the goal and maps the visitors', async () => {
    const GOAL = 25;
    const BEFORE = 8;
    const TOTAL = 32;
    const board = await createBoard(session, project.projectId, 'Launch day', launchLayout(new Date(Date.now() - 30 * 60_000).toISOString(), GOAL));

    // Signups (and noise) stored before anyone watches.
    for (let i = 0; i < BEFORE; i++) {
      await track(lp.url, project, 'signup', { __ip: VISITOR_IPS[i % VISITOR_IPS.length], plan: 'pro' });
      await track(lp.url, project, 'screen_view', { __ip: VISITOR_IPS[i % VISITOR_IPS.length] });
    }
    await lp.settle();

    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    try {
      await signInContext(context, session);
      const page = await context.newPage();
      const problems = watchProblems(page);
      await page.goto(`${lp.url}/projects/${project.projectId}/boards/${board.id}`);
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'the board to be live',
      );
      await waitFor(
        () => text(page, 'tile-value-signups'),
        (t) => t.startsWith(`${BEFORE} `),
        `the backfilled ${BEFORE} signups`,
      );
      expect(await text(page, 'tile-goal-signups')).toContain(`of ${GOAL}`);

      // A steady stream while the page watches, crossing the goal.
      for (let i = BEFORE; i < TOTAL; i++) {
        await track(lp.url, project, 'signup', { __ip: VISITOR_IPS[i % VISITOR_IPS.length], plan: i % 2 ? 'pro' : 'free' });
        await new Promise((r) => setTimeout(r, 120));
      }
      await waitFor(
        () => text(page, 'milestone'),
        (t) => t.includes(`goal of ${GOAL} reached`),
        'the goal milestone to flash',
      );
      await waitFor(
        () => text(page, 'tile-value-signups'),
        (t) => t.startsWith(`${TOTAL} `),
        `exactly ${TOTAL} signups`,
      );
      expect(await text(page, 'tile-goal-signups')).toMatch(/128% of 25.*reached/);
      expect(await text(page, 'tile-pace-signups')).toMatch(/^\+[\d.]+\/min/);

      // The map: points for the located visitors, their countries shaded.
      const points = await waitFor(
        () => page.$eval('[data-testid="tile-value-map"]', (el) => Number(el.getAttribute('data-points'))),
        (n) => n >= 3,
        'map points',
      );
      expect(points).toBeGreaterThanOrEqual(3);
      const shaded = await page.$$eval('[data-testid="tile-value-map"] path.has', (els) => els.map((e) => e.getAttribute('data-country')));
      expect(shaded).toEqual(expect.arrayContaining(['US', 'GB', 'AU', 'JP']));

      // Feed: newest first; a click shows the event's properties; filtered by event name; paused.
      await track(lp.url, project, 'screen_view', { __ip: VISITOR_IPS[0], __path: 'https://example.com/thanks' });
      await waitFor(
        () => text(page, 'tile-value-feed'),
        (t) => t.includes('screen_view /thanks') && t.includes('signup'),
        'the feed with both events',
      );
      await page.selectOption('[data-testid="tile-value-feed-filter"]', 'signup');
      await waitFor(
        () => text(page, 'tile-value-feed'),
        (t) => t.includes('signup') && !t.includes('screen_view'),
        'the feed filtered to signup',
      );
      await page.click('[data-testid="tile-value-feed"] li:first-child button');
      await waitFor(
        () => text(page, 'tile-value-feed-props'),
        (t) => /plan\s*(pro|free)/.test(t),
        'the event properties',
      );
      await page.selectOption('[data-testid="tile-value-feed-filter"]', '');
      await page.click('[data-testid="tile-value-feed-pause"]');
      await track(lp.url, project, 'click', { __ip: VISITOR_IPS[1] });
      await waitFor(
        () => text(page, 'tile-value-feed-pause'),
        (t) => t === 'Resume (1 new)',
        'the paused feed counting one new event',
      );
      expect(await text(page, 'tile-value-feed')).not.toContain('click');
      await page.click('[data-testid="tile-value-feed-pause"]');
      await waitFor(
        () => text(page, 'tile-value-feed'),
        (t) => t.includes('click'),
        'the resumed feed showing the new event',
      );

      if (process.env.LP_SCREENSHOT) await page.screenshot({ path: process.env.LP_SCREENSHOT, fullPage: true });
      await waitFor(
        () => linkState(page),
        (st) => st === 'live',
        'the screen to be live at the end',
        60_000,
      );
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('editing and rotating boards in Chromium', () => {
  let lp: TestServer;
  let session: ApiSession;
  let project: { projectId: string; clientId: string; clientSecret: string };

  beforeAll(async () => {
    lp = await startTestServer();
    ({ project, session } = await setUp(lp));
  });

  afterAll(async () => {
    await lp?.destroy();
  });

  it('a member edits a board (tile added, goal set, saved, still there after a reload); a viewer cannot', async () => {
    const board = await createBoard(session, project.projectId, 'Ops room', { tiles: [{ id: 'who', type: 'visitors' }] });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    try {
      await signInContext(context, session);
      const page = await context.newPage();
      const problems = watchProblems(page);
      await page.goto(`${lp.url}/projects/${project.projectId}/boards/${board.id}`);
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'the board to be live',
      );
      await page.click('[data-testid="edit-board"]');
      await page.selectOption('[data-testid="add-tile-type"]', 'number');
      await page.click('[data-testid="add-tile"]');
      await page.fill('[data-testid="edit-event-number-1"]', 'signup');
      await page.fill('[data-testid="edit-goal-number-1"]', '50');
      await page.dispatchEvent('[data-testid="edit-goal-number-1"]', 'change');
      await page.fill('[data-testid="board-name"]', 'Ops room (launch)');
      await page.click('[data-testid="save-board"]');
      await waitFor(
        () => page.$('[data-testid="board-editor"]').then((e) => e === null),
        (gone) => gone,
        'the editor to close after saving',
      );

      const saved = await apiCall<Board>(session, 'GET', `/api/v1/projects/${project.projectId}/boards/${board.id}`);
      expect(saved).toMatchObject({ name: 'Ops room (launch)', version: 2 });
      expect(saved.layout.tiles[1]).toMatchObject({ type: 'number', goal: 50, filters: [['is', 'event:name', ['signup']]] });

      await page.reload();
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'the board live again after a reload',
      );
      await track(lp.url, project, 'signup');
      await waitFor(
        () => text(page, 'tile-goal-number-1'),
        (t) => t.includes('of 50'),
        'the saved goal tile',
      );
      expect(problems).toEqual([]);

      // A viewer of the organisation watches the same board without the editing controls.
      const me = await apiCall<{ orgs: Array<{ orgId: string }> }>(session, 'GET', '/api/auth/me');
      await lp.admin('create-user', { email: 'viewer@example.com', password: 'viewer password 1', org: me.orgs[0]!.orgId, role: 'viewer' });
      const viewerCtx = await browser.newContext();
      try {
        await signInContext(viewerCtx, await apiSignIn(lp.url, 'viewer@example.com', 'viewer password 1'));
        const v = await viewerCtx.newPage();
        await v.goto(`${lp.url}/projects/${project.projectId}/boards/${board.id}?edit=1`);
        await waitFor(
          () => linkState(v),
          (s) => s === 'live',
          "the viewer's board to be live",
        );
        expect(await v.$('[data-testid="edit-board"]')).toBeNull();
        expect(await v.$('[data-testid="board-editor"]')).toBeNull();
      } finally {
        await viewerCtx.close();
      }
    } finally {
      await context.close();
    }
  });

  it('a TV share URL rotates through the boards of several links', async () => {
    const a = await createBoard(session, project.projectId, 'Board A', { tiles: [{ id: 'who', type: 'visitors' }] });
    const b = await createBoard(session, project.projectId, 'Board B', { tiles: [{ id: 'feed', type: 'feed' }] });
    const [sa, sb] = [await shareBoard(session, project.projectId, a.id), await shareBoard(session, project.projectId, b.id)];
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    try {
      const page = await context.newPage();
      await page.goto(`${sa.tvUrl}&rotate=${sb.token}&every=5`);
      const heading = () => page.$eval('[data-testid="board"] h1', (e) => e.textContent ?? '');
      await waitFor(heading, (t) => t.endsWith('Board A'), 'board A first');
      await waitFor(heading, (t) => t.endsWith('Board B'), 'board B after the rotation period');
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'board B live',
      );
      await waitFor(heading, (t) => t.endsWith('Board A'), 'back to board A');
    } finally {
      await context.close();
    }
  });
});

describe('a board on a TV through a share link', () => {
  it('survives a server restart: shows reconnecting without numbers, then re-syncs to the stored total', async () => {
    // The real entry point as a child process, SIGKILLed and started again on the same port and data.
    const server = await serverProcess();
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    try {
      await server.start();
      const base = server.base;
      const project = await server.admin<{ projectId: string; clientId: string; clientSecret: string }>('create-project', {
        name: 'Ops',
        domain: 'example.com',
      });
      await server.admin('create-user', USER);
      const session = await apiSignIn(base, USER.email, USER.password);
      const board = await createBoard(session, project.projectId, 'Ops', launchLayout(new Date(Date.now() - 10 * 60_000).toISOString(), 100));
      const share = await shareBoard(session, project.projectId, board.id);
      expect(share.tvUrl).toMatch(/\?tv=1$/);

      const page = await context.newPage();
      const problems = watchProblems(page);
      await page.goto(share.tvUrl);
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'the TV to be live',
      );
      expect(await page.$('nav')).toBeNull(); // TV: no controls
      for (let i = 0; i < 5; i++) await track(base, project, 'signup', { __ip: VISITOR_IPS[i] });
      await waitFor(
        () => text(page, 'tile-value-signups'),
        (t) => t.startsWith('5 '),
        '5 signups on the TV',
      );

      // The server dies: the TV says so and shows no numbers.
      await server.kill();
      await waitFor(
        () => linkState(page),
        (s) => s === 'reconnecting',
        'the TV to show reconnecting',
      );
      expect(await text(page, 'connection')).toBe('reconnecting…');
      expect(await text(page, 'tile-value-signups')).toMatch(/^–/);

      // Back on the same address and data: the TV re-syncs by itself, events sent since included.
      await server.start();
      for (let i = 0; i < 3; i++) await track(base, project, 'signup', { __ip: VISITOR_IPS[i] });
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'the TV to be live again',
        90_000,
      );
      await waitFor(
        () => text(page, 'tile-value-signups'),
        (t) => t.startsWith('8 '),
        'the stored total of 8 signups after the restart',
        60_000,
      );
      expect(problems).toEqual([]);
    } finally {
      await context.close();
      await server.destroy();
    }
  }, 300_000);
});
