/**
 * Rate limits must never touch a normal site's traffic. An office of visitors behind one
 * address (five browser tabs of real Chromium on the same IP, with the default limits) browse
 * quickly through a site using the published `@openpanel/web` tracker — screen views,
 * `data-track` clicks, custom events — and not one `/track` answer is a 429: every event
 * gets its 200 and is stored once.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopChromeUserAgent, launchChromium, type StaticSite, startStaticSite, trackerPage } from '../support/browser.ts';
import { reader } from '../support/e2e.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';

const TABS = 5;
const PAGES = 8;
const CLICKS = 4;

let browser: Browser;
let lp: TestServer;
let site: StaticSite;
let project: { projectId: string; clientId: string; clientSecret: string };

beforeAll(async () => {
  browser = await launchChromium();
  [lp, site] = await Promise.all([startTestServer(), startStaticSite()]); // default rate limits
  project = await lp.createProject('Busy site', site.origin);
  for (let p = 0; p < PAGES; p++) {
    site.page(
      `/p${p}`,
      trackerPage({
        title: `Page ${p}`,
        apiUrl: lp.url,
        clientId: project.clientId,
        body: `<h1>Page ${p}</h1><button id="b" data-track="click_b" data-page="${p}">B</button><a id="next" href="/p${p + 1}">next</a>`,
      }),
    );
  }
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([lp?.destroy(), site?.close()]);
});

describe('a busy office behind one address, with the default limits', () => {
  it('gets every event answered 200 and stored: no 429', async () => {
    const perPage = 1 + CLICKS + 1; // screen view, clicks, one custom event
    const statuses: number[][] = [];
    const tabs = await Promise.all(
      Array.from({ length: TABS }, async (_, t) => {
        const context = await browser.newContext({ userAgent: desktopChromeUserAgent(browser) });
        const page = await context.newPage();
        statuses[t] = [];
        page.on('response', (r) => {
          if (r.request().method() === 'POST' && r.url() === `${lp.url}/track`) statuses[t]!.push(r.status());
        });
        return { context, page };
      }),
    );
    const expected = TABS * PAGES * perPage;
    await Promise.all(
      tabs.map(async ({ page }, t) => {
        for (let p = 0; p < PAGES; p++) {
          await page.goto(`${site.origin}/p${p}`);
          await waitUntil(() => statuses[t]!.length >= p * perPage + 1); // the screen view
          for (let c = 0; c < CLICKS; c++) await page.click('#b');
          await page.evaluate((tab) => (globalThis as unknown as { op: (...a: unknown[]) => void }).op('track', 'read_more', { tab }), t);
          // This page's events are answered before the visitor moves on.
          await waitUntil(() => statuses[t]!.length >= (p + 1) * perPage);
        }
      }),
    );
    const all = statuses.flat();
    expect(all).toHaveLength(expected);
    expect(all.filter((s) => s !== 200)).toEqual([]);
    const read = reader(lp.url, project.projectId, project, lp.settle);
    const stored = (await read.count('screen_view')) + (await read.count('click_b')) + (await read.count('read_more'));
    expect(stored).toBe(expected);
    const metrics = await (await fetch(`${lp.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^livepanel_rate_limited_total\{/m);
    await Promise.all(tabs.map((t) => t.context.close()));
  });
});

async function waitUntil(fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
}
