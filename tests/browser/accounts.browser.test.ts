/**
 * Accounts end to end in headless Chromium, as people use them: first-run setup of the owner,
 * inviting a second user who joins through the link and signs in, creating a project, copying
 * the install snippet, a site sending its first event with the published `@openpanel/web`
 * tracker and the install page turning to "first event received" (pushed over the live
 * channel), then a share link whose TV URL opens in a fresh browser with no cookies and loses
 * access within seconds of being revoked. Also checks the pages' `frame-ancestors`.
 * Guards against: setup or invitations not working from the UI, the session cookie or CSRF
 * token not reaching the API, the install snippet carrying the wrong client, share links
 * needing a session, and revocation not reaching open sockets.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  desktopChromeUserAgent,
  launchChromium,
  type StaticSite,
  startStaticSite,
  trackerPage,
  waitForText as waitForSelectorText,
} from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';

let browser: Browser;
let lp: TestServer;
let site: StaticSite;

beforeAll(async () => {
  browser = await launchChromium();
  [lp, site] = await Promise.all([startTestServer(), startStaticSite()]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([lp?.destroy(), site?.close()]);
});

const WAIT_MS = 20_000;

/** Polls `[data-testid]`'s text until `ok` holds; fails with the last text seen. */
const waitForText = (page: Page, testid: string, ok: (t: string) => boolean, what: string) =>
  waitForSelectorText(page, `[data-testid="${testid}"]`, ok, what, WAIT_MS);

describe('accounts, projects and share links in Chromium', () => {
  it('setup → invite → sign in → project → install snippet → first event → share TV → revoke', async () => {
    const owner = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await owner.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: lp.url });
    const problems: string[] = [];
    const page = await owner.newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));

    // 1. A fresh install opens on the setup page.
    const first = await page.goto(`${lp.url}/`);
    expect(first?.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    await page.waitForURL((u) => u.pathname === '/setup');
    await page.fill('input[name="name"]', 'Ann Owner');
    await page.fill('input[name="email"]', 'ann@example.com');
    await page.fill('input[name="password"]', 'a long owner passphrase');
    await page.fill('input[name="orgName"]', 'Acme');
    await page.click('button[type="submit"]');
    await page.waitForURL((u) => /^\/orgs\/[0-9a-f-]{36}$/.test(u.pathname));
    const orgPath = new URL(page.url()).pathname;

    // 2. Invite a second user; the link is shown to the inviter.
    await page.goto(`${lp.url}${orgPath}/members`);
    await page.fill('[data-testid="invite"] input[name="email"]', 'bob@example.com');
    await page.selectOption('[data-testid="invite"] select[name="role"]', 'member');
    await page.click('[data-testid="invite"] button[type="submit"]');
    const linkText = await waitForText(page, 'invitation-link', (t) => t.includes('/invite/lpi_'), 'the invitation link');
    const inviteUrl = /(https?:\/\/\S+\/invite\/lpi_[\w-]+)/.exec(linkText)![1]!;

    // 3. Bob joins from a browser of his own, signs out, and signs in again.
    const bobContext = await browser.newContext();
    const bob = await bobContext.newPage();
    await bob.goto(inviteUrl);
    await bob.fill('input[name="name"]', 'Bob Member');
    await bob.fill('input[name="password"]', 'bob has a passphrase too');
    await bob.click('button[type="submit"]');
    await bob.waitForURL((u) => u.pathname === orgPath);
    await bob.click('header button:has-text("Sign out")');
    await bob.waitForURL((u) => u.pathname === '/sign-in');
    await bob.fill('input[name="email"]', 'bob@example.com');
    await bob.fill('input[name="password"]', 'bob has a passphrase too');
    await bob.click('button[type="submit"]');
    await bob.waitForURL((u) => u.pathname === orgPath);
    await bob.goto(inviteUrl); // single use
    await bob.waitForSelector('[role="alert"]');
    expect(await bob.textContent('[role="alert"]')).toMatch(/expired or was already used/);
    await bobContext.close();

    // 4. The owner creates a project for the test site and lands on its install page, waiting.
    await page.goto(`${lp.url}${orgPath}`);
    await page.fill('[data-testid="create-project"] input[name="name"]', 'Test site');
    await page.fill('[data-testid="create-project"] input[name="domain"]', new URL(site.origin).hostname);
    await page.fill('[data-testid="create-project"] input[name="timezone"]', 'Europe/Paris');
    await page.click('[data-testid="create-project"] button[type="submit"]');
    await page.waitForURL((u) => /^\/projects\/\w+\/install$/.test(u.pathname));
    const projectId = new URL(page.url()).pathname.split('/')[2]!;
    await waitForText(page, 'first-event', (t) => t.includes('Waiting for the first event'), 'the waiting state');

    // 5. Copy the @openpanel/web snippet: it names this Livepanel and the project's browser client.
    await page.click('[data-testid="snippet-openpanel-web"] button');
    const snippet = String(await page.evaluate('navigator.clipboard.readText()'));
    expect(snippet).toContain(`apiUrl: '${lp.url}'`);
    const clientId = /clientId: '([0-9a-f-]{36})'/.exec(snippet)![1]!;
    expect(await page.textContent('[data-testid="snippet-script"]')).toContain(`data-client-id="${clientId}"`);

    // 6. The site sends its first event with the published tracker; the install page turns live.
    site.page('/', trackerPage({ title: 'Home', apiUrl: lp.url, clientId, body: '<h1>Home</h1>' }));
    const visitor = await browser.newContext({ userAgent: desktopChromeUserAgent(browser) });
    await (await visitor.newPage()).goto(`${site.origin}/`);
    await waitForText(page, 'first-event', (t) => t.includes('First event received'), 'the first event to arrive');
    await visitor.close();

    // 7. A share link of the realtime view; its TV URL opens in a fresh browser with no cookies.
    await page.goto(`${lp.url}/projects/${projectId}/shares`);
    await page.fill('[data-testid="create-share"] input[name="name"]', 'Office TV');
    await page.click('[data-testid="create-share"] button[type="submit"]');
    await page.waitForSelector('[data-testid="share-tv-url"]');
    const tvUrl = await page.inputValue('[data-testid="share-tv-url"]');
    expect(tvUrl).toMatch(/\/share\/lpsh_[\w-]+\?tv=1$/);
    expect(await page.inputValue('[data-testid="share-embed"]')).toContain('<iframe src=');

    const tvContext = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const tv = await tvContext.newPage();
    const tvResponse = await tv.goto(tvUrl);
    expect(tvResponse?.headers()['content-security-policy']).toMatch(/frame-ancestors \*/);
    expect(tvResponse?.headers()['x-frame-options']).toBeUndefined();
    await waitForText(tv, 'connection', (t) => t === 'live', 'the TV to go live');
    expect(await tv.$('header')).toBeNull();
    expect(await tvContext.cookies()).toEqual([]);

    // 8. Revoke it: the TV loses access within seconds.
    page.on('dialog', (d) => void d.accept());
    await page.click('[data-testid="shares"] button:has-text("Revoke")');
    await waitForText(page, 'shares', (t) => t.includes('revoked'), 'the share listed as revoked');
    await waitForText(tv, 'connection', (t) => t === 'refused', 'the TV to lose access');
    expect(await tv.textContent('[data-testid="share-refused"]')).toMatch(/no longer available/);
    const reopened = await tvContext.newPage();
    await reopened.goto(tvUrl);
    await waitForText(reopened, 'share-unavailable', (t) => t.includes('expired or was revoked'), 'the revoked link refused on reload');

    // The audit log shows what happened.
    await page.goto(`${lp.url}${orgPath}/audit`);
    const audit = await waitForText(page, 'audit', (t) => t.includes('share.revoke'), 'the audit entries');
    for (const action of ['user.setup', 'invitation.create', 'invitation.accept', 'project.create', 'share.create', 'share.revoke'])
      expect(audit).toContain(action);

    await tvContext.close();
    await owner.close();
    expect(problems).toEqual([]);
  });
});
