/**
 * The browser SDK when things go wrong, in Chromium against Livepanel running as its own
 * process:
 * - Livepanel is down when the page loads (and when a tab closes): events wait in
 *   localStorage and the socket backs off; once it is up, the open tab's events arrive, and a
 *   page opened later sends what the closed tab left behind, each exactly once.
 * - Livepanel is SIGKILLed mid-session while the page keeps tracking, then restarted: every
 *   event arrives exactly once (the page resends what was not acknowledged with the same ids;
 *   the server drops what it had already stored). Run on the distributed shape (Redis +
 *   PostgreSQL + chDB), whose dedupe memory lives in Redis and survives the process.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRIPT_PATH } from '../../sdk/scripts/script-build.ts';
import { launchDesktopChromium, type StaticSite, startStaticSite } from '../support/browser.ts';
import { reader } from '../support/e2e.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { scriptTagPage, waitForRows } from '../support/sdk-pages.ts';
import { freePort, runScript, type ServerProcess, startServerProcess } from '../support/server-process.ts';

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

async function createProject(env: Record<string, string>): Promise<{ projectId: string; clientId: string; clientSecret: string }> {
  const cli = runScript('server/admin/cli.ts', ['create-project', '--name', 'Faults', '--domain', site.origin], env);
  await cli.exited;
  const line = cli
    .output()
    .split('\n')
    .find((l) => l.startsWith('{') && l.includes('"projectId"'));
  if (!line) throw new Error(`create-project failed:\n${cli.output()}`);
  return JSON.parse(line);
}

const step = (what: string) => process.env.LP_DEBUG && console.log(new Date().toISOString(), what);
const lp = (page: Page, ...args: unknown[]) => page.evaluate((a) => (globalThis as unknown as { lp: (...x: unknown[]) => void }).lp(...a), args);

function page(port: number, clientId: string, title: string) {
  return scriptTagPage({ scriptSrc: '/lp.js', clientId, title, attributes: `data-api-url="http://127.0.0.1:${port}"` });
}

describe('the browser SDK through Livepanel outages', () => {
  it('server down at load: events wait, arrive once it is up; a closed tab’s events come with the next page', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-sdk-faults-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = { DATA_DIR: dataDir };
    let server: ServerProcess = await startServerProcess(port, env);
    const project = await createProject(env);
    step("await server.kill('SIGTERM');");
    await server.kill('SIGTERM');
    site.page('/down', page(port, project.clientId, 'Down'));

    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const closing = await context.newPage();
    await closing.goto(`${site.origin}/down?tab=closing`);
    for (let i = 0; i < 10; i++) await lp(closing, 'track', 'while_down', { tab: 'closing', i });
    await closing.close(); // its events stay in localStorage
    const open = await context.newPage();
    await open.goto(`${site.origin}/down?tab=open`);
    for (let i = 0; i < 10; i++) await lp(open, 'track', 'while_down', { tab: 'open', i });

    step('server = await startServerProcess(port, env);');
    server = await startServerProcess(port, env);
    cleanups.push(() => server.kill());
    const read = reader(`http://127.0.0.1:${port}`, project.projectId, project);
    // The open tab reconnects by itself (backoff) and takes over the closed tab's saved queue too.
    const rows = await waitForRows(
      () => read.events(),
      (r) => r.filter((x) => x.name === 'while_down').length >= 20,
      60_000,
    );
    const keys = rows.filter((r) => r.name === 'while_down').map((r) => `${r.properties.tab}-${r.properties.i}`);
    expect(keys.sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `closing-${i}`), ...Array.from({ length: 10 }, (_, i) => `open-${i}`)].sort());
    expect(rows.filter((r) => r.name === 'screen_view')).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 1000)); // a later page changes nothing: nothing is left to send
    const later = await context.newPage();
    await later.goto(`${site.origin}/down?tab=later`);
    await waitForRows(
      () => read.events(),
      (r) => r.filter((x) => x.name === 'screen_view').length >= 3,
    );
    expect(await read.count('while_down')).toBe(20);
  }, 300_000);

  it('SIGKILL mid-session while the page keeps tracking: every event exactly once after the restart', async () => {
    const [redis, db]: [TestRedis, TestDatabase] = await Promise.all([createTestRedis(), createTestDatabase()]);
    cleanups.push(
      () => redis.cleanup(),
      () => db.drop(),
    );
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-sdk-kill-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = { DATA_DIR: dataDir, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: redis.prefix, DATABASE_URL: db.url };
    let server = await startServerProcess(port, env);
    cleanups.push(() => server.kill());
    const project = await createProject(env);
    site.page('/kill', page(port, project.clientId, 'Kill'));

    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const tab = await context.newPage();
    await tab.goto(`${site.origin}/kill`);
    // The page tracks every 100 ms until told to stop (slow enough that the restart's backlog
    // stays under the SDK's 1,000-event queue, which would otherwise drop the oldest).
    await tab.evaluate(() => {
      const g = globalThis as unknown as {
        lp: (...a: unknown[]) => void;
        n: number;
        stop: () => void;
        setInterval: typeof setInterval;
        clearInterval: typeof clearInterval;
      };
      g.n = 0;
      const t = g.setInterval(() => g.lp('track', 'tick', { n: g.n++ }), 100);
      g.stop = () => g.clearInterval(t);
    });
    const count = () => tab.evaluate(() => (globalThis as unknown as { n: number }).n);
    await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(50);
    step("await server.kill('SIGKILL');");
    await server.kill('SIGKILL');
    const atKill = await count();
    await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(atKill + 30);
    step('server = await startServerProcess(port, env);');
    server = await startServerProcess(port, env);
    const afterRestart = await count();
    await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(afterRestart + 50);
    await tab.evaluate(() => (globalThis as unknown as { stop: () => void }).stop());
    step('const sent = await count();');
    const sent = await count();

    const read = reader(`http://127.0.0.1:${port}`, project.projectId, project);
    await expect.poll(() => read.count('tick'), { timeout: 90_000, interval: 500 }).toBeGreaterThanOrEqual(sent);
    expect(sent).toBeLessThan(990); // all of them fit one page of the read API
    const rows = (await read.events(1000)).filter((r) => r.name === 'tick');
    const seen = new Map<number, number>();
    for (const r of rows) seen.set(Number(r.properties.n), (seen.get(Number(r.properties.n)) ?? 0) + 1);
    const missing = Array.from({ length: sent }, (_, n) => n).filter((n) => !seen.has(n));
    const twice = [...seen].filter(([, c]) => c > 1).map(([n]) => n);
    expect({ missing, twice, stored: rows.length }).toEqual({ missing: [], twice: [], stored: sent });
  }, 300_000);
});
