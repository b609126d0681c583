/**
 * The Vue and Svelte SDKs in real apps in Chromium against a running Livepanel: the Vue
 * example (Vue Router, bundled with esbuild) and the SvelteKit example (served by Vite's dev
 * server, `afterNavigate` page views). Each: one page view per navigation with the route's
 * title, a tracked button, a `data-track` click, all from one device over one socket.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVueExample, vueExampleHtml } from '../../sdk/examples/vue/build.ts';
import { launchDesktopChromium, type StaticSite, startStaticSite } from '../support/browser.ts';
import { reader } from '../support/e2e.ts';
import { startTestServer, type TestServer } from '../support/livepanel.ts';
import { waitForRows } from '../support/sdk-pages.ts';

let browser: Browser;
let lp: TestServer;

beforeAll(async () => {
  browser = await launchDesktopChromium();
  lp = await startTestServer();
});
afterAll(async () => {
  await browser?.close();
  await lp?.destroy();
});

const title = (page: Page, prefix: string) =>
  page.waitForFunction((p) => (globalThis as unknown as { document: { title: string } }).document.title.startsWith(p), prefix);

/** Clicks through Home → signup → Pricing → plan → back, and checks what was stored. */
async function clickThrough(
  page: Page,
  origin: string,
  project: { projectId: string; clientId: string; clientSecret: string },
  suffix: string,
  ready: () => Promise<unknown> = async () => {},
) {
  const read = reader(lp.url, project.projectId, project, () => lp.settle());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    // A failed request is reported by the response listener (with its URL).
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  let sockets = 0;
  page.on('websocket', (ws) => {
    if (ws.url().includes('/ws?')) sockets++;
  });
  await page.goto(`${origin}/`);
  await title(page, 'Home');
  await ready();
  await page.click('#signup');
  await page.click('#nav-pricing');
  await title(page, 'Pricing');
  await page.click('[data-track="plan_chosen"]');
  await page.goBack();
  await title(page, 'Home');
  const rows = await waitForRows(
    () => read.events(),
    (r) => r.filter((x) => x.name === 'screen_view').length >= 3 && r.some((x) => x.name === 'plan_chosen') && r.some((x) => x.name === 'signup'),
  );
  await new Promise((r) => setTimeout(r, 300)); // nothing more should come
  const all = await read.events();
  expect(
    all
      .filter((r) => r.name === 'screen_view')
      .map((v) => `${v.path}${v.properties.ref ? '' : ''} ${v.title}`)
      .reverse(),
  ).toEqual([`/ Home · ${suffix}`, `/pricing Pricing · ${suffix}`, `/ Home · ${suffix}`]);
  expect(rows.find((r) => r.name === 'signup')?.properties).toMatchObject({ plan: 'pro' });
  expect(rows.find((r) => r.name === 'plan_chosen')?.properties).toMatchObject({ plan: 'team' });
  expect(new Set(rows.map((r) => r.device_id)).size).toBe(1);
  expect(sockets).toBe(1);
  expect(errors).toEqual([]);
}

describe('framework SDKs in Chromium', () => {
  let site: StaticSite;
  afterAll(() => site?.close());

  it('@livepanel/vue: plugin, useLivepanel() and Vue Router page views', async () => {
    site = await startStaticSite();
    const project = await lp.createProject('Vue site', site.origin);
    site.asset('/app.js', await buildVueExample({ apiUrl: lp.url, clientId: project.clientId }), 'text/javascript; charset=utf-8');
    for (const p of ['/', '/pricing']) site.page(p, vueExampleHtml);
    const context = await browser.newContext();
    try {
      await clickThrough(await context.newPage(), site.origin, project, 'Vue example');
    } finally {
      await context.close();
    }
  });

  it('@livepanel/svelte: SvelteKit afterNavigate page views, context and status store', async () => {
    const { createServer } = await import('vite');
    const cwd = process.cwd();
    let vite: ViteDevServer | undefined;
    const context = await browser.newContext();
    try {
      // The project allows the dev server's origin; the port is picked first.
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const origin = `http://localhost:${port}`;
      const project = await lp.createProject('SvelteKit site', origin);
      process.env.LIVEPANEL_URL = lp.url;
      process.env.LIVEPANEL_CLIENT_ID = project.clientId;
      const root = path.resolve(import.meta.dirname, '../../sdk/examples/sveltekit');
      // SvelteKit reads svelte.config.js from the working directory, as `npx vite dev` run there would
      // (this test file has its own worker process).
      process.chdir(root);
      // No dependency discovery: a dev server that optimises a dependency mid-test reloads the page.
      vite = await createServer({
        root,
        configFile: path.join(root, 'vite.config.ts'),
        server: { port, strictPort: true, host: 'localhost' },
        optimizeDeps: { noDiscovery: true },
      });
      await vite.listen();
      const page = await context.newPage();
      // Server-rendered: wait for hydration (the status store says the socket is live) before clicking.
      await clickThrough(page, origin, project, 'SvelteKit example', () => page.waitForSelector('#status:has-text("live")'));
      expect(await page.textContent('#status')).toBe('live');
    } finally {
      await context.close();
      await vite?.close();
      process.chdir(cwd);
    }
  });
});
