/**
 * The dashboard on the process's uWS app (`web` role), same port as the API and the live
 * channel, so its socket.io connection is same-origin. GETs that no other route takes land
 * here: files of web/build/client from memory (hashed `/_app/immutable/*` cached for a year,
 * precompressed when the browser accepts it), everything else through SvelteKit's `Server`
 * (a uWS request becomes a Web `Request`; the `Response` is streamed back with backpressure).
 * `/api/*` keeps answering JSON. Without a build the server still starts: it logs a warning
 * and every page is a 503 saying how to build it.
 */

import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveFetch, statusText } from '../http/fetch.uws.ts';
import { send, sendJson, snapshot } from '../http/uws.ts';
import type { Logger } from '../log.ts';
import { type AssetResponse, type Assets, loadAssets } from './assets.ts';
import { BuildMissingError, type DashboardApp, loadDashboardApp } from './kit.ts';

/** web/build, next to this repository's server/. */
export const DEFAULT_BUILD_DIR = fileURLToPath(new URL('../../web/build', import.meta.url));

export interface MountDashboardOptions {
  log: Logger;
  /** Folder made by `npm run build:web` (default web/build). */
  buildDir?: string;
  /** What the app's `$env/dynamic/*` sees (default: nothing). */
  env?: Record<string, string>;
  /** Origin the app believes it is served at (default `http://` + the request's Host). */
  publicUrl?: string;
  /**
   * The CSP `frame-ancestors` sources of a page: the share link's for `/share/<token>` pages,
   * `'none'` (never embeddable) everywhere else. Default: `'none'` for every page.
   */
  frameAncestors?(pathname: string): Promise<string>;
}

export interface Dashboard {
  /** False when there was no usable build (pages answer 503). */
  available: boolean;
}

export async function mountDashboard(app: TemplatedApp, opts: MountDashboardOptions): Promise<Dashboard> {
  const log = opts.log.child({ module: 'dashboard' });
  const buildDir = opts.buildDir ?? DEFAULT_BUILD_DIR;
  let kit: DashboardApp | undefined;
  let assets: Assets | undefined;
  let missing = false;
  try {
    kit = await loadDashboardApp(buildDir, opts.env);
    assets = loadAssets(path.join(buildDir, 'client'));
    log.info({ buildDir, assets: assets.size }, 'dashboard mounted');
  } catch (err) {
    kit = undefined;
    missing = err instanceof BuildMissingError;
    if (missing) log.warn({ buildDir }, 'dashboard not built: pages answer 503 until `npm run build:web` has run (then restart)');
    else log.error({ err, buildDir }, 'dashboard build could not be loaded: pages answer 503 (rebuild with `npm run build:web`)');
  }

  const frameAncestors = (pathname: string) => (opts.frameAncestors ? opts.frameAncestors(pathname).catch(() => "'none'") : Promise.resolve("'none'"));
  const handler = (res: HttpResponse, req: HttpRequest) => {
    const head = req.getMethod() === 'head';
    const snap = snapshot(res, req);
    if (snap.url.startsWith('/api/')) return sendJson(res, 404, { error: { code: 'not_found', message: 'No such route' } });
    if (!kit || !assets) return send(res, 503, unavailablePage(missing), { 'cache-control': 'no-store', 'retry-after': '60' }, 'text/html; charset=utf-8');
    const file = assets.get(snap.url, snap.headers);
    if (file) return sendAsset(res, file, head);
    if (snap.url.startsWith('/_app/')) return send(res, 404, 'Not found', { 'cache-control': 'no-store' }, 'text/plain; charset=utf-8');
    const app = kit;
    serveFetch(res, snap, async (request, ip) => withFrameAncestors(await app.respond(request, ip), await frameAncestors(snap.url)), {
      log,
      publicUrl: opts.publicUrl,
    });
  };
  app.get('/*', handler);
  app.head('/*', handler);
  return { available: kit !== undefined };
}

/**
 * Adds the page's `frame-ancestors` to its Content-Security-Policy (SvelteKit's CSP cannot vary
 * it per page), and `X-Frame-Options: DENY` for browsers that only know that, unless embeddable.
 */
function withFrameAncestors(response: Response, sources: string): Response {
  const headers = new Headers(response.headers);
  const csp = headers.get('content-security-policy');
  headers.set('content-security-policy', `${csp ? `${csp}; ` : ''}frame-ancestors ${sources}`);
  if (sources === "'none'") headers.set('x-frame-options', 'DENY');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

function sendAsset(res: HttpResponse, file: AssetResponse, head: boolean): void {
  res.cork(() => {
    res.writeStatus(statusText(file.status));
    for (const k in file.headers) res.writeHeader(k, file.headers[k]!);
    if (file.status === 304) res.endWithoutBody();
    else if (head) res.endWithoutBody(file.body.byteLength);
    else res.end(file.body);
  });
}

function unavailablePage(missing: boolean): string {
  const what = missing ? 'has not been built' : 'could not be loaded (the server log says why)';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard unavailable · Livepanel</title>
<style>body{margin:0;min-height:100vh;display:grid;place-items:center;background:#0d0f13;color:#e8ecf2;font:18px/1.5 system-ui,sans-serif}
main{max-width:34rem;padding:2rem}code{background:#161a21;border:1px solid #242a35;border-radius:.3rem;padding:.1rem .4rem}</style></head>
<body><main><h1>Dashboard unavailable</h1>
<p>This Livepanel serves its API and live channel, but the dashboard's web app ${what}.
Run <code>npm run build:web</code> in the Livepanel folder, then restart it (<code>npm start</code> builds it when needed).</p>
</main></body></html>`;
}
