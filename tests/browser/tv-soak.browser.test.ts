/**
 * A TV left on: a board with every kind of tile, opened through its share link's TV URL in
 * headless Chromium, under a steady stream of events (varied names, pages, countries). After a
 * warm-up the JS heap is measured (after a forced garbage collection), again at the end, and
 * must not have grown by more than a few MB: feeds, map points, per-minute windows and the
 * rendered DOM are all bounded, so the profile stays flat however long it runs.
 *
 * LP_TV_SOAK_MS sets how long it streams after the warm-up (default 2 minutes, to keep the
 * suite reasonable); the full run is 10 minutes:
 *   LP_TV_SOAK_MS=600000 npx vitest run tests/browser/tv-soak.browser.test.ts
 * LP_TV_SOAK_MAX_GROWTH_MB overrides the allowed growth (default 3).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardLayoutInput } from '../../shared/boards.ts';
import { apiSignIn, createBoard, linkState, shareBoard, text, track, VISITOR_IPS, waitFor } from '../support/boards.ts';
import { launchChromium } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';

const SOAK_MS = Number(process.env.LP_TV_SOAK_MS) || 120_000;
const WARMUP_MS = 30_000;
const MAX_GROWTH_MB = Number(process.env.LP_TV_SOAK_MAX_GROWTH_MB) || 3;
/** Events per second the stream aims at (sent in small batches). */
const RATE = 20;

let browser: Browser;
let lp: TestServer;

beforeAll(async () => {
  browser = await launchChromium();
  lp = await startTestServer();
});

afterAll(async () => {
  await browser?.close();
  await lp?.destroy();
});

const LAYOUT: BoardLayoutInput = {
  tiles: [
    {
      id: 'signups',
      type: 'number',
      filters: [['is', 'event:name', ['signup']]],
      since: { kind: 'minutes', minutes: 60 },
      goal: 1_000_000,
      unit: 'signups',
      w: 2,
    },
    { id: 'visitors', type: 'visitors' },
    { id: 'rate', type: 'sparkline', minutes: 30 },
    { id: 'map', type: 'map', w: 2, h: 2, minutes: 5 },
    { id: 'pages', type: 'top', dimension: 'event:path', limit: 10 },
    { id: 'countries', type: 'top', dimension: 'geo:country', limit: 10 },
    { id: 'funnel', type: 'funnel', steps: [{ filters: [['is', 'event:name', ['screen_view']]] }, { filters: [['is', 'event:name', ['signup']]] }] },
    { id: 'feed', type: 'feed', w: 2, h: 2, limit: 50 },
  ],
};

describe('a TV under a steady stream', () => {
  it(
    `keeps a flat JS heap over ${Math.round(SOAK_MS / 60_000)} min of streaming`,
    async () => {
      const project = await lp.createProject('Soak', 'example.com');
      await lp.admin('create-user', { email: 'soak@example.com', password: 'soak test password' });
      const session = await apiSignIn(lp.url, 'soak@example.com', 'soak test password');
      const board = await createBoard(session, project.projectId, 'Soak', LAYOUT);
      const share = await shareBoard(session, project.projectId, board.id);

      let sent = 0;
      let streaming = true;
      const stream = (async () => {
        const names = ['screen_view', 'screen_view', 'screen_view', 'signup', 'click', 'purchase'];
        while (streaming) {
          const started = Date.now();
          const batch = [];
          for (let i = 0; i < RATE / 5; i++) {
            const n = sent++;
            batch.push(
              track(lp.url, project, names[n % names.length]!, {
                __ip: VISITOR_IPS[n % VISITOR_IPS.length],
                __path: `https://example.com/page-${n % 40}`,
                n,
                plan: n % 3 ? 'pro' : 'free',
              }),
            );
          }
          await Promise.all(batch);
          await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - started))));
        }
      })();

      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
      try {
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.goto(share.tvUrl);
        await waitFor(
          () => linkState(page),
          (s) => s === 'live',
          'the TV to be live',
        );
        await waitFor(
          () => text(page, 'tile-value-feed'),
          (t) => t.length > 0,
          'the feed to fill',
        );

        const cdp = await context.newCDPSession(page);
        await cdp.send('HeapProfiler.enable');
        const heap = async () => {
          for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage');
          return ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
        };

        await new Promise((r) => setTimeout(r, WARMUP_MS));
        const start = await heap();
        const sentAtStart = sent;
        await new Promise((r) => setTimeout(r, SOAK_MS));
        const end = await heap();
        const growthMb = (end - start) / 1024 / 1024;
        console.log(
          `TV soak: ${((sent - sentAtStart) / (SOAK_MS / 1000)).toFixed(1)} events/s for ${SOAK_MS / 1000} s; JS heap ${(start / 1048576).toFixed(2)} MB → ${(end / 1048576).toFixed(2)} MB (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(2)} MB)`,
        );
        await waitFor(
          () => linkState(page),
          (st) => st === 'live',
          'the screen to be live at the end',
          60_000,
        );
        expect(sent - sentAtStart).toBeGreaterThan(0);
        expect(growthMb).toBeLessThan(MAX_GROWTH_MB);
        expect(errors).toEqual([]);
      } finally {
        streaming = false;
        await stream;
        await context.close();
      }
    },
    SOAK_MS + WARMUP_MS + 180_000,
  );
});
