/**
 * Real-browser test support: headless Chromium driven by playwright-core, and a tiny static
 * site server (node:http on 127.0.0.1, a free port) serving test pages and the published
 * `@openpanel/web` tracker script straight from node_modules, the way a site would serve
 * OpenPanel's `op1.js`.
 *
 * Chromium is required, not optional: when it is missing `launchChromium` throws, so the
 * browser tests FAIL with an install hint instead of skipping (CI installs it).
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium; throws (never skips) when it is not installed or will not start. */
/** Text of the first element matching `selector`, white space folded ('' while it is not rendered). */
export async function selectorText(page: Page, selector: string): Promise<string> {
  return ((await (await page.$(selector))?.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/** Polls the text of `selector` until `ok` holds; fails naming `what` and the last text seen. */
export async function waitForText(page: Page, selector: string, ok: (t: string) => boolean, what: string, ms = 20_000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const last = await selectorText(page, selector);
    if (ok(last)) return last;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; ${selector} shows "${last}"`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests need it: install it with ` +
        '`apt-get install -y chromium` (CI does this in .ci/run), or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM_PATH} failed to start: ${(err as Error).message}`);
  }
}

/**
 * A desktop Chrome user agent for the running Chromium's version. Headless Chromium says
 * `HeadlessChrome/…`, which bot filters (Livepanel's and upstream OpenPanel's) rightly drop;
 * a test standing in for a real visitor uses the agent a headed Chrome on Linux sends.
 */
export function desktopChromeUserAgent(browser: Browser): string {
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`;
}

/**
 * Headless Chromium that says it is a desktop Chrome in every request, including keepalive
 * requests a page sends while it unloads (the per-context override does not reach those, and
 * bot filters rightly drop `HeadlessChrome`).
 */
export function launchDesktopChromium(): Promise<Browser> {
  return launchChromium(['--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36']);
}

/** The published browser tracker (`@openpanel/web`'s IIFE build, what the CDN serves as op1.js). */
export function trackerScriptPath(): string {
  // The package's exports map only exposes its entry point; the IIFE build ships beside it.
  const main = createRequire(import.meta.url).resolve('@openpanel/web');
  const file = path.join(path.dirname(main), 'src', 'tracker.global.js');
  if (!existsSync(file)) throw new Error(`@openpanel/web tracker script not found at ${file}`);
  return file;
}

export interface StaticSite {
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Serves `html` at `pathname` (replacing what was there). */
  page(pathname: string, html: string): void;
  /** Serves `body` as `contentType` at `pathname` (a bundle, a script). */
  asset(pathname: string, body: string, contentType: string): void;
  /** Paths requested so far, in order (method and path). */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * A static site on 127.0.0.1 and a free port. Serves the pages given with `page()`, the
 * tracker at `/op1.js`, an empty favicon, and 404 otherwise.
 */
export async function startStaticSite(): Promise<StaticSite> {
  const tracker = readFileSync(trackerScriptPath());
  const pages = new Map<string, string>();
  const assets = new Map<string, { body: string; type: string }>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://site').pathname;
    requests.push(`${req.method} ${pathname}`);
    const html = pages.get(pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
    } else if (pathname === '/op1.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(tracker);
    } else if (assets.has(pathname)) {
      const a = assets.get(pathname)!;
      res.writeHead(200, { 'content-type': a.type, 'cache-control': 'no-store' }).end(a.body);
    } else if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (html !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    page: (pathname, html) => {
      pages.set(pathname, html);
    },
    asset: (pathname, body, type) => {
      assets.set(pathname, { body, type });
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TrackerPageOptions {
  title: string;
  /** Livepanel's base URL (the tracker posts to `${apiUrl}/track`). */
  apiUrl: string;
  clientId: string;
  /** Page body HTML. */
  body?: string;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A page embedding the tracker exactly as OpenPanel documents it: the `window.op` queue stub
 * with `init`, then the tracker script (`defer async`).
 */
export function trackerPage(o: TrackerPageOptions): string {
  const init = JSON.stringify({ apiUrl: o.apiUrl, clientId: o.clientId, trackScreenViews: true, trackOutgoingLinks: true, trackAttributes: true });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(o.title)}</title>
<script>
  window.op = window.op || function (...args) { (window.op.q = window.op.q || []).push(args) };
  window.op('init', ${init});
</script>
<script src="/op1.js" defer async></script>
<style>body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; } button, a { margin-right: 1rem; }</style>
</head>
<body>
${o.body ?? ''}
</body>
</html>
`;
}
