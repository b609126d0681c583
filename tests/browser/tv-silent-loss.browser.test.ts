/**
 * A TV through a board's share link, in real headless Chromium, when its connection goes
 * silent: the server process is paused (SIGSTOP) — no TCP close, no reset, nothing the browser
 * or the transport notices for tens of seconds. The heartbeat watchdog must flip the TV to its
 * visible `reconnecting` state without numbers (never stale numbers shown as live), and once
 * the process runs again (SIGCONT) the TV re-syncs through a new watermark to the exact stored
 * total, events sent after the pause included.
 * Guards against a TV on a silently lost network showing `live` until the transport's ~45 s
 * ping timeout. Deadlines are generous; no timing is asserted.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSignIn, createBoard, linkState, shareBoard, text, track, VISITOR_IPS, waitFor } from '../support/boards.ts';
import { launchChromium } from '../support/browser.ts';
import { serverProcess } from '../support/process.ts';

const USER = { email: 'tv@example.com', password: 'silent loss password' };
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe('a TV whose server goes silent', () => {
  it('shows reconnecting after a SIGSTOP of the server and comes back to exact numbers after SIGCONT', async () => {
    const server = await serverProcess();
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    let paused = false;
    const pause = (on: boolean) => {
      process.kill(server.proc.child.pid!, on ? 'SIGSTOP' : 'SIGCONT');
      paused = on;
    };
    try {
      await server.start();
      const project = await server.admin<{ projectId: string; clientId: string; clientSecret: string }>('create-project', {
        name: 'Ops',
        domain: 'example.com',
      });
      await server.admin('create-user', USER);
      const session = await apiSignIn(server.base, USER.email, USER.password);
      const since = new Date(Date.now() - 600_000).toISOString();
      const board = await createBoard(session, project.projectId, 'Ops', {
        tiles: [{ id: 'signups', type: 'number', filters: [['is', 'event:name', ['signup']]], since: { kind: 'at', at: since }, unit: 'signups' }],
      });
      const share = await shareBoard(session, project.projectId, board.id);

      const page = await context.newPage();
      await page.goto(share.tvUrl);
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'the TV to be live',
      );
      for (let i = 0; i < 4; i++) await track(server.base, project, 'signup', { __ip: VISITOR_IPS[i] });
      await waitFor(
        () => text(page, 'tile-value-signups'),
        (t) => t.startsWith('4 '),
        '4 signups on the TV',
      );

      // Paused: the socket stays open and nothing arrives any more. The deadline is three times
      // the watchdog's 6 s, and under the 20 s socket.io's own ping timeout can take at the
      // earliest: without the heartbeat watchdog this fails every time.
      pause(true);
      await waitFor(
        () => linkState(page),
        (s) => s === 'reconnecting',
        'the TV to show reconnecting after a silent loss',
        18_000,
      );
      expect(await text(page, 'connection')).toBe('reconnecting…');
      expect(await text(page, 'tile-value-signups')).toMatch(/^–/);

      pause(false);
      for (let i = 0; i < 3; i++) await track(server.base, project, 'signup', { __ip: VISITOR_IPS[i] });
      await waitFor(
        () => linkState(page),
        (s) => s === 'live',
        'the TV to be live again',
        120_000,
      );
      await waitFor(
        () => text(page, 'tile-value-signups'),
        (t) => t.startsWith('7 '),
        'the stored total of 7 signups',
        60_000,
      );
    } finally {
      if (paused) pause(false);
      await context.close();
      await server.destroy();
    }
  }, 300_000);
});
