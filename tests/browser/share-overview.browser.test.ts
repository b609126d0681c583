/**
 * An overview share link in headless Chromium, as its viewers see it: no account, no cookies.
 * The plain URL of a password-protected share asks for the password once, then shows the
 * overview's cards, chart and breakdowns — numbers from the query API, restricted to the
 * share's fixed filter, which shows as a chip with no remove button; a viewer's own filter in
 * the URL narrows further, never widens. The TV URL has no controls. The iframe embed loads on
 * the site the share names in its `frame-ancestors` and is refused on another share that names
 * none. LP_SCREENSHOT_DIR=/tmp/lp saves screenshots. Guards against: the share page not rendering overviews, the query API not taking share
 * links, the fixed filter not being applied, and embedding not following the share.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type StaticSite, startStaticSite, selectorText as text, waitForText } from '../support/browser.ts';
import { CHROME_UA, post, waitUntil } from '../support/e2e.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';

let browser: Browser;
let lp: TestServer;
let site: StaticSite;
let project: { projectId: string; clientId: string; clientSecret: string };
const USER = { email: 'sharer@example.com', password: 'shares the numbers' };
const WAIT_MS = 20_000;
const shots = process.env.LP_SCREENSHOT_DIR;

/** Four visitors over the last day; two of them viewed /pricing (3 page views there). */
function seed() {
  const now = Date.now();
  const visit = (device: string, hoursAgo: number, paths: string[]) =>
    paths.map((p, i) => ({
      type: 'track',
      payload: {
        name: 'screen_view',
        properties: {
          __timestamp: new Date(now - hoursAgo * 3_600_000 + i * 1000).toISOString(),
          __path: `https://shop.example.com${p}`,
          __deviceId: device,
          __userAgent: CHROME_UA,
          __ip: '8.8.8.8',
        },
      },
    }));
  return [
    ...visit('alice', 20, ['/', '/pricing', '/pricing']),
    ...visit('bob', 10, ['/docs']),
    ...visit('carol', 5, ['/pricing']),
    ...visit('dave', 3, ['/', '/blog']),
  ];
}

/** Signs in over the API; answers what a cookie request needs. */
async function session(): Promise<Record<string, string>> {
  const res = await fetch(`${lp.url}/api/auth/sign-in`, {
    method: 'POST',
    headers: { origin: lp.url, 'content-type': 'application/json' },
    body: JSON.stringify(USER),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const me = (await (await fetch(`${lp.url}/api/auth/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  return { cookie, 'x-livepanel-csrf': me.csrfToken, origin: lp.url, 'content-type': 'application/json' };
}

async function createShare(headers: Record<string, string>, body: object): Promise<{ url: string; tvUrl: string; embed: string; token: string }> {
  const res = await fetch(`${lp.url}/api/v1/projects/${project.projectId}/shares`, { method: 'POST', headers, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { url: string; tvUrl: string; embed: string; token: string };
}

beforeAll(async () => {
  browser = await launchChromium();
  [lp, site] = await Promise.all([startTestServer({ QUERY_CACHE_LIVE_TTL_MS: '0' }), startStaticSite()]);
  project = await lp.createProject('Shop', 'shop.example.com');
  await lp.admin('create-user', USER);
  const r = await post(`${lp.url}/batch`, { events: seed() }, { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret });
  expect(r.status, r.text).toBe(200);
  const read = await lp.createClient(project.projectId, 'read');
  await waitUntil(async () => {
    await lp.settle();
    const res = await fetch(`${lp.url}/api/v1/projects/${project.projectId}/events/count`, {
      headers: { 'openpanel-client-id': read.clientId, 'openpanel-client-secret': read.clientSecret },
    });
    return ((await res.json()) as { count: number }).count >= 7;
  }, 30_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([lp?.destroy(), site?.close()]);
});

const card = (metric: string) => `[data-metric="${metric}"] .value`;

describe('overview share links in Chromium', () => {
  it('password → the overview through its fixed filter → TV → iframe embed where allowed only', async () => {
    const owner = await session();
    const pricing = await createShare(owner, {
      name: 'Pricing page',
      target: { kind: 'overview' },
      password: 'pricing passphrase',
      filter: [['is', 'event:path', ['/pricing']]],
      frameAncestors: [site.origin],
    });
    const nowhere = await createShare(owner, { name: 'Not embeddable', target: { kind: 'overview' }, frameAncestors: [] });

    const viewer = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const problems: string[] = [];
    const page = await viewer.newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));

    // 1. The plain URL asks for the password once; the grant is kept for later visits.
    await page.goto(pricing.url);
    await page.fill('input[type="password"]', 'pricing passphrase');
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="shared-overview"]');

    // 2. Only what the fixed filter lets through: 2 of the 4 visitors, the 3 page views of /pricing.
    await waitForText(page, card('visitors'), (t) => t === '2', '2 visitors of /pricing');
    expect(await text(page, card('pageviews'))).toBe('3');
    await waitForText(page, '[data-testid="breakdown-pages"]', (t) => t.includes('/pricing'), '/pricing in the top pages');
    expect(await text(page, '[data-testid="breakdown-pages"]')).not.toMatch(/\/docs|\/blog/);
    await page.waitForSelector('[data-testid="series-chart"] canvas');
    expect(await text(page, '[data-testid="share-fixed-filter"]')).toContain('Page is /pricing');
    expect(await page.$('[data-testid="share-fixed-filter"] button')).toBeNull();
    expect(await page.$('[data-testid="view-bar"]')).not.toBeNull();

    // 3. The viewer's own filter narrows; one that contradicts the fixed filter leaves nothing.
    await page.goto(`${pricing.url}?f=is_not,event:path,/pricing`);
    await waitForText(page, card('pageviews'), (t) => t === '0', 'no page views: the fixed filter still holds');
    await page.goto(`${pricing.url}?f=is,event:path,/pricing,/docs`);
    await waitForText(page, card('visitors'), (t) => t === '2', 'still only /pricing visitors');

    // 4. The TV URL: the same numbers, no controls, no cookies.
    await page.goto(pricing.tvUrl);
    await waitForText(page, card('visitors'), (t) => t === '2', 'the TV overview');
    expect(await page.$('[data-testid="view-bar"]')).toBeNull();
    expect(await page.$('[data-testid="breakdown-pages"] button:has-text("/pricing")')).toBeNull();
    expect(await viewer.cookies()).toEqual([]);
    if (shots) await page.screenshot({ path: `${shots}/share-overview-tv.png`, fullPage: true });

    // 5. Embedding: each share's page names the sites that may frame it.
    const allowed = await fetch(pricing.url);
    expect(allowed.headers.get('content-security-policy')).toContain(`frame-ancestors ${site.origin}`);
    expect(allowed.headers.get('x-frame-options')).toBeNull();
    const refused = await fetch(nowhere.url);
    expect(refused.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const src = (embed: string) => /src="([^"]+)"/.exec(embed)![1]!;
    site.page(
      '/embeds',
      `<!doctype html><html><body><iframe id="allowed" src="${src(pricing.embed)}" style="width:1200px;height:800px"></iframe>` +
        `<iframe id="refused" src="${src(nowhere.embed)}" style="width:600px;height:400px"></iframe></body></html>`,
    );
    const host = await viewer.newPage();
    await host.goto(`${site.origin}/embeds`);
    // The grant this browser keeps for the share's origin unlocks the embedded view as well.
    const frame = async (id: string) => (await (await host.$(`iframe#${id}`))!.contentFrame())!;
    const inFrame = await frame('allowed');
    await inFrame.waitForSelector('[data-testid="shared-overview"]', { timeout: WAIT_MS });
    await waitForText(inFrame as unknown as Page, card('visitors'), (t) => t === '2', 'the embedded overview');
    // Chromium replaces a frame its frame-ancestors refuse with an error page.
    const blocked = await frame('refused');
    await waitUntil(() => blocked.url() !== '' && blocked.url() !== 'about:blank', WAIT_MS);
    expect(blocked.url()).not.toContain('/share/');
    expect(await blocked.$('[data-testid="shared-overview"]')).toBeNull();
    if (shots) await host.screenshot({ path: `${shots}/share-embeds.png` });

    await viewer.close();
    expect(problems).toEqual([]);
  });
});
