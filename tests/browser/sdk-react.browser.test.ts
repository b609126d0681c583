/**
 * The React SDK in a real React build (sdk/examples/react, bundled with esbuild) in Chromium
 * against a running Livepanel: `<LivepanelProvider>` starts one client for the page,
 * `<LivepanelPageViews />` counts React Router navigations (back included) once each with
 * the route's title, `useLivepanel()` tracks, identifies and resets.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReactExample, reactExampleHtml } from '../../sdk/examples/react/build.ts';
import { launchDesktopChromium, type StaticSite, startStaticSite } from '../support/browser.ts';
import { type Reader, reader } from '../support/e2e.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';
import { waitForRows } from '../support/sdk-pages.ts';

let browser: Browser;
let lp: TestServer;
let site: StaticSite;
let read: Reader;

beforeAll(async () => {
  browser = await launchDesktopChromium();
  [lp, site] = await Promise.all([startTestServer(), startStaticSite()]);
  const project = await lp.createProject('React site', site.origin);
  read = reader(lp.url, project.projectId, project, () => lp.settle());
  site.asset('/app.js', await buildReactExample({ apiUrl: lp.url, clientId: project.clientId }), 'text/javascript; charset=utf-8');
  for (const p of ['/', '/pricing']) site.page(p, reactExampleHtml);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([lp?.destroy(), site?.close()]);
});

describe('@livepanel/react in a React Router app', () => {
  it('counts router page views once each, tracks from components, identifies and resets', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      let sockets = 0;
      page.on('websocket', () => sockets++);
      await page.goto(`${site.origin}/`);
      await page.click('#signup');
      await page.click('#nav-pricing');
      await page.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title.startsWith('Pricing'));
      await page.click('[data-track="plan_chosen"]');
      await page.goBack();
      await page.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title.startsWith('Home'));
      await page.click('#login');
      await page.click('#signup');
      await page.click('#logout');
      await page.click('#signup');

      const rows = await waitForRows(
        () => read.events(),
        (r) => r.filter((x) => x.name === 'signup').length >= 3 && r.filter((x) => x.name === 'screen_view').length >= 3,
      );
      if (process.env.LP_DEBUG) console.log(rows.map((r) => `${r.name} ${r.device_id} ${r.profile_id} ${r.sdk_name}`).join('\n'));
      const views = rows.filter((r) => r.name === 'screen_view');
      expect(views.map((v) => `${v.path} ${v.title}`)).toEqual(['/ Home · React example', '/pricing Pricing · React example', '/ Home · React example']);
      expect(rows.find((r) => r.name === 'plan_chosen')?.properties).toMatchObject({ plan: 'team' });
      const signups = rows.filter((r) => r.name === 'signup');
      expect(signups.map((s) => s.profile_id)).toEqual(['', 'react-user', '']);
      // The logout started a new anonymous device: the last signup is from another device.
      expect(signups[0]!.device_id).toBe(signups[1]!.device_id);
      expect(signups[2]!.device_id).not.toBe(signups[1]!.device_id);
      expect((await read.profile('react-user')).first_name).toBe('Ada');
      expect(sockets).toBe(2); // one per page, and one more after the reset announced the new device
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
