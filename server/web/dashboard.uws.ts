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
import { STATUS_CODES } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RequestSnapshot, send, sendJson, snapshot } from '../http/uws.ts';
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
}

export interface Dashboard {
  /** False when there was no usable build (pages answer 503). */
  available: boolean;
}

/** Response headers SvelteKit may set that uWS writes itself (or that do not pass through). */
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'set-cookie']);

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

  const handler = (res: HttpResponse, req: HttpRequest) => {
    const head = req.getMethod() === 'head';
    const snap = snapshot(res, req);
    if (snap.url.startsWith('/api/')) return sendJson(res, 404, { error: { code: 'not_found', message: 'No such route' } });
    if (!kit || !assets) return send(res, 503, unavailablePage(missing), { 'cache-control': 'no-store', 'retry-after': '60' }, 'text/html; charset=utf-8');
    const file = assets.get(snap.url, snap.headers);
    if (file) return sendAsset(res, file, head);
    if (snap.url.startsWith('/_app/')) return send(res, 404, 'Not found', { 'cache-control': 'no-store' }, 'text/plain; charset=utf-8');
    renderPage(res, snap, kit, head, opts.publicUrl, log);
  };
  app.get('/*', handler);
  app.head('/*', handler);
  return { available: kit !== undefined };
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

/** Hands the request to SvelteKit and streams its answer back. */
function renderPage(res: HttpResponse, snap: RequestSnapshot, kit: DashboardApp, head: boolean, publicUrl: string | undefined, log: Logger): void {
  const aborted = new AbortController();
  let wake: (() => void) | undefined; // a write waiting for the socket to drain
  res.aborted = false;
  res.onAborted(() => {
    res.aborted = true;
    aborted.abort();
    if (wake) setImmediate(wake); // see onWritable below
  });

  let request: Request;
  try {
    const origin = publicUrl?.replace(/\/+$/, '') ?? `http://${snap.headers.host || 'localhost'}`;
    const url = new URL(`${snap.url}${snap.query ? `?${snap.query}` : ''}`, origin);
    request = new Request(url, { method: head ? 'HEAD' : 'GET', headers: snap.headers, signal: aborted.signal });
  } catch {
    sendJson(res, 400, { error: { code: 'invalid_body', message: 'Unreadable request URL or headers' } });
    return;
  }

  let started = false; // status line written
  const stream = async () => {
    const response = await kit.respond(request, snap.remoteIp);
    const writeHead = () => {
      started = true;
      res.writeStatus(statusText(response.status));
      response.headers.forEach((v, k) => {
        if (!HOP_HEADERS.has(k)) res.writeHeader(k, v);
      });
      for (const cookie of response.headers.getSetCookie()) res.writeHeader('set-cookie', cookie);
    };
    const reader = response.body?.getReader();
    if (!reader || head || res.aborted) {
      await reader?.cancel();
      if (!res.aborted) {
        res.cork(() => {
          writeHead();
          res.endWithoutBody();
        });
      }
      return;
    }
    try {
      // A page rendered in one piece (the usual case) goes out in one corked write with its length.
      const first = await reader.read();
      const second = first.done ? first : await reader.read();
      if (res.aborted) return;
      if (second.done) {
        res.cork(() => {
          writeHead();
          res.end(first.done ? '' : first.value);
        });
        return;
      }
      let ok = true;
      res.cork(() => {
        writeHead();
        ok = res.write(first.value!);
        ok = res.write(second.value) && ok;
      });
      for (;;) {
        if (!ok) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // uWS calls this from native code without running JavaScript's microtasks afterwards:
            // resolving here directly would leave the loop asleep until some other event came.
            res.onWritable(() => {
              setImmediate(resolve);
              return true;
            });
          });
        }
        if (res.aborted) return;
        const next = await reader.read();
        if (res.aborted) return;
        if (next.done) {
          res.cork(() => res.end());
          return;
        }
        res.cork(() => {
          ok = res.write(next.value);
        });
      }
    } finally {
      if (res.aborted) await reader.cancel().catch(() => {});
    }
  };

  stream().catch((err) => {
    if (aborted.signal.aborted) return; // the visitor left; nothing to answer
    log.error({ err, url: snap.url }, 'dashboard render failed');
    if (res.aborted) return;
    // Failing mid-stream, the status is already out: cut the connection so the page is not taken as whole.
    if (started) res.close();
    else send(res, 500, 'Internal error', {}, 'text/plain; charset=utf-8');
  });
}

function statusText(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
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
