/**
 * The browser SDK when things go wrong, in Chromium against Livepanel running as its own
 * process:
 * - Livepanel is down when the page loads (and when a tab closes): events wait in
 *   localStorage and the socket backs off; once it is up, the open tab's events arrive, and a
 *   page opened later sends what the closed tab left behind, each exactly once.
 * - Livepanel is SIGKILLed mid-session while the page keeps tracking, then restarted: every
 *   event arrives exactly once (the page resends what was not acknowledged with the same ids;
 *   the server drops what it had already stored). On the embedded shape here (its dedupe
 *   memory is rebuilt from the write-ahead log), on the distributed shape in
 *   sdk-kill-distributed.browser.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRIPT_PATH } from '../../sdk/scripts/script-build.ts';
import { launchDesktopChromium, type StaticSite, startStaticSite } from '../support/browser.ts';
import { reader } from '../support/e2e.ts';
import { type ServerProcess, serverProcess } from '../support/process.ts';
import { killMidSession, type Project, scriptTagPage, waitForRows } from '../support/sdk-pages.ts';

let browser: Browser;
let site: StaticSite;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  browser = await launchDesktopChromium();
  site = await startStaticSite();
  // The site hosts its own copy of the script: Livepanel may be down when the page loads.
  site.asset('/lp.js', readFileSync(SCRIPT_PATH, 'utf8'), 'text/javascript; charset=utf-8');
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await browser?.close();
  await site?.close();
});

const lp = (page: Page, ...args: unknown[]) => page.evaluate((a) => (globalThis as unknown as { lp: (...x: unknown[]) => void }).lp(...a), args);
const page = (server: ServerProcess, clientId: string, title: string) =>
  scriptTagPage({ scriptSrc: '/lp.js', clientId, title, attributes: `data-api-url="${server.base}"` });

describe('the browser SDK through Livepanel outages', () => {
  it('server down at load: events wait, arrive once it is up; a closed tab’s events come with the next page', async () => {
    const server = await serverProcess();
    cleanups.push(() => server.destroy());
    await server.start();
    const project = await server.admin<Project>('create-project', { name: 'Faults', domain: site.origin });
    await server.stop();
    site.page('/down', page(server, project.clientId, 'Down'));

    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const closing = await context.newPage();
    await closing.goto(`${site.origin}/down?tab=closing`);
    for (let i = 0; i < 10; i++) await lp(closing, 'track', 'while_down', { tab: 'closing', i });
    await closing.close(); // its events stay in localStorage
    const open = await context.newPage();
    await open.goto(`${site.origin}/down?tab=open`);
    for (let i = 0; i < 10; i++) await lp(open, 'track', 'while_down', { tab: 'open', i });

    await server.start();
    const read = reader(server.base, project.projectId, project);
    // The open tab reconnects by itself (backoff) and took over the closed tab's saved queue too.
    const rows = await waitForRows(
      () => read.events(),
      // Each tab's queue may land in its own insert: wait for all of both.
      (r) => r.filter((x) => x.name === 'while_down').length >= 20 && r.filter((x) => x.name === 'screen_view').length >= 2,
      150_000,
    );
    const keys = rows.filter((r) => r.name === 'while_down').map((r) => `${r.properties.tab}-${r.properties.i}`);
    expect(keys.sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `closing-${i}`), ...Array.from({ length: 10 }, (_, i) => `open-${i}`)].sort());
    expect(rows.filter((r) => r.name === 'screen_view')).toHaveLength(2);
    // A later page has nothing left to send.
    const later = await context.newPage();
    await later.goto(`${site.origin}/down?tab=later`);
    await waitForRows(
      () => read.events(),
      (r) => r.filter((x) => x.name === 'screen_view').length >= 3,
    );
    expect(await read.count('while_down')).toBe(20);
  }, 300_000);

  it('SIGKILL mid-session while the page keeps tracking: every event exactly once after the restart (embedded)', async () => {
    const server = await serverProcess();
    cleanups.push(() => server.destroy());
    await server.start();
    const project = await server.admin<Project>('create-project', { name: 'Kill', domain: site.origin });
    await killMidSession({ browser, site }, server, project, '/kill');
  }, 300_000);
});
