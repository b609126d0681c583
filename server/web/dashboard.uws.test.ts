/**
 * The dashboard's serving on a real uWS app (what server/app.ts mounts for the `web` role),
 * against a stand-in SvelteKit build — a `Server` class with the same contract — so every
 * path is exercised without a real build: Request/Response conversion (URL, headers, client
 * address, several set-cookie headers, status), a long streamed answer, a render that throws,
 * HEAD, static files (immutable caching, precompressed twins, 304s), `/api/*` staying JSON,
 * and a missing build answering 503 instead of crashing the server.
 * The real build is covered in Chromium by tests/browser/dashboard.browser.test.ts.
 */

import uWS from 'uWebSockets.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson } from '../http/uws.ts';
import { silentLogger } from '../log.ts';
import { mountDashboard } from './dashboard.uws.ts';

/** 16 MB: more than the loopback socket buffers hold, so a reader that pauses causes backpressure. */
const STREAM_CHUNKS = 512;
const CHUNK = 32 * 1024;

/** A stand-in for web/build/server: the members of SvelteKit's Server that Livepanel calls. */
const FAKE_SERVER = `
let cancelled = 0;
export class Server {
  constructor(manifest) { this.manifest = manifest; }
  async init({ env }) { this.env = env; }
  async respond(request, { getClientAddress }) {
    const url = new URL(request.url);
    if (url.pathname === '/boom') throw new Error('render failed');
    if (url.pathname === '/cancelled') return new Response(String(cancelled));
    if (url.pathname === '/stream') {
      let i = 0;
      const body = new ReadableStream({
        pull(c) {
          if (i === ${STREAM_CHUNKS}) return c.close();
          c.enqueue(new Uint8Array(${CHUNK}).fill(65 + (i++ % 26)));
        },
        cancel() { cancelled++; },
      });
      return new Response(body, { headers: { 'content-type': 'text/plain' } });
    }
    const headers = new Headers({ 'content-type': 'application/json', 'x-greeting': this.env.GREETING ?? '' });
    headers.append('set-cookie', 'a=1; Path=/');
    headers.append('set-cookie', 'b=2; Path=/');
    const body = JSON.stringify({
      url: request.url,
      method: request.method,
      agent: request.headers.get('user-agent'),
      client: getClientAddress(),
      app: this.manifest.name,
    });
    return new Response(body, { status: url.pathname === '/missing' ? 404 : 200, headers });
  }
}
`;

const JS = 'console.log("hello from an immutable chunk");'.repeat(20);

interface Running {
  url: string;
  close(): void;
}

async function serve(mount: (app: uWS.TemplatedApp) => Promise<unknown>): Promise<Running> {
  const app = uWS.App();
  app.get('/healthz', (res) => sendJson(res, 200, { status: 'ok' })); // mounted before, as in app.ts
  await mount(app);
  app.any('/*', (res) => sendJson(res, 404, { error: { code: 'not_found', message: 'No such route' } }));
  const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('listen')))),
  );
  const port = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
  return { url: `http://127.0.0.1:${port}`, close: () => uWS.us_listen_socket_close(socket) };
}

let dir: string;
let built: Running;
let unbuilt: Running;
let broken: Running;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-dashboard-'));
  const build = path.join(dir, 'build');
  mkdirSync(path.join(build, 'server'), { recursive: true });
  mkdirSync(path.join(build, 'client', '_app', 'immutable', 'entry'), { recursive: true });
  writeFileSync(path.join(build, 'server', 'index.js'), FAKE_SERVER);
  writeFileSync(path.join(build, 'server', 'manifest.js'), 'export const manifest = { name: "fake-app" };');
  const js = path.join(build, 'client', '_app', 'immutable', 'entry', 'start.abc123.js');
  writeFileSync(js, JS);
  writeFileSync(`${js}.br`, brotliCompressSync(JS));
  writeFileSync(`${js}.gz`, gzipSync(JS));
  writeFileSync(path.join(build, 'client', 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');

  built = await serve(async (app) => {
    const d = await mountDashboard(app, { log: silentLogger, buildDir: build, env: { GREETING: 'hi' }, publicUrl: 'https://lp.example.com/' });
    expect(d.available).toBe(true);
  });
  const bad = path.join(dir, 'broken');
  mkdirSync(path.join(bad, 'server'), { recursive: true });
  writeFileSync(path.join(bad, 'server', 'index.js'), 'throw new Error("half-written build");');
  writeFileSync(path.join(bad, 'server', 'manifest.js'), 'export const manifest = {};');
  broken = await serve(async (app) => {
    const d = await mountDashboard(app, { log: silentLogger, buildDir: bad });
    expect(d.available).toBe(false);
  });
  unbuilt = await serve(async (app) => {
    const d = await mountDashboard(app, { log: silentLogger, buildDir: path.join(dir, 'nothing-here') });
    expect(d.available).toBe(false);
  });
});

afterAll(() => {
  built?.close();
  unbuilt?.close();
  broken?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dashboard pages (through the SvelteKit Server)', () => {
  it('turns the uWS request into a Web Request and sends the Response back whole', async () => {
    const res = await fetch(`${built.url}/projects/p1/realtime?tv=1`, { headers: { 'user-agent': 'TestAgent/1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-greeting')).toBe('hi'); // init({ env }) got the env
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(await res.json()).toEqual({
      url: 'https://lp.example.com/projects/p1/realtime?tv=1', // publicUrl is the origin the app sees
      method: 'GET',
      agent: 'TestAgent/1',
      client: '127.0.0.1',
      app: 'fake-app',
    });
  });

  it('passes the status through (a 404 page is the app’s, HTML or not)', async () => {
    expect((await fetch(`${built.url}/missing`)).status).toBe(404);
  });

  it('streams a long answer in order to a slow reader (waits for the socket to drain)', async () => {
    // A reader that stops for a while fills the socket buffers: the server has to wait for
    // onWritable instead of dropping or reordering chunks.
    const body = await new Promise<Buffer>((resolve, reject) => {
      http
        .get(`${built.url}/stream`, (res) => {
          expect(res.statusCode).toBe(200);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
          res.pause();
          setTimeout(() => res.resume(), 300);
        })
        .on('error', reject);
    });
    expect(body.byteLength).toBe(STREAM_CHUNKS * CHUNK);
    for (let i = 0; i < STREAM_CHUNKS; i++) expect(body[i * CHUNK], `chunk ${i}`).toBe(65 + (i % 26));
  });

  it('stops reading the app’s stream when the visitor goes away mid-answer', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${built.url}/stream`, (res) => {
        res.once('data', () => {
          req.destroy(); // the visitor closes the tab
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    const until = Date.now() + 10_000;
    while ((await (await fetch(`${built.url}/cancelled`)).text()) !== '1') {
      if (Date.now() > until) throw new Error('the stream was never cancelled');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('answers 500 when rendering throws, and keeps serving', async () => {
    const res = await fetch(`${built.url}/boom`);
    expect(res.status).toBe(500);
    expect((await fetch(`${built.url}/page`)).status).toBe(200);
  });

  it('answers HEAD without a body', async () => {
    const res = await fetch(`${built.url}/page`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('leaves /api/*, earlier routes and other methods to the API', async () => {
    const api = await fetch(`${built.url}/api/v1/nope`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { code: 'not_found', message: 'No such route' } });
    expect(await (await fetch(`${built.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${built.url}/page`, { method: 'POST', body: 'x' })).status).toBe(404);
  });
});

describe('dashboard static files', () => {
  const asset = '/_app/immutable/entry/start.abc123.js';

  it('caches hashed files for a year and sends the precompressed twin the browser accepts', async () => {
    for (const [accept, encoding] of [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
      ['identity', null],
    ] as const) {
      const res = await fetch(`${built.url}${asset}`, { headers: { 'accept-encoding': accept } });
      expect(res.status, accept).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('content-encoding')).toBe(encoding);
      expect(res.headers.get('vary')).toBe('Accept-Encoding');
      expect(await res.text()).toBe(JS); // fetch decodes br and gzip
    }
  });

  it('revalidates other files and answers 304 to a matching ETag', async () => {
    const first = await fetch(`${built.url}/favicon.svg`);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${built.url}/favicon.svg`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('answers a missing /_app/ file with a plain 404 (no page render)', async () => {
    const res = await fetch(`${built.url}/_app/immutable/entry/gone.js`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  });
});

describe('without a usable build', () => {
  it('serves a 503 page saying how to build it, and the rest of the server works', async () => {
    const res = await fetch(`${unbuilt.url}/projects/p1/realtime`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('npm run build:web');
    expect((await fetch(`${unbuilt.url}/api/v1/nope`)).status).toBe(404);
    expect((await fetch(`${unbuilt.url}/healthz`)).status).toBe(200);
  });

  it('does the same when the build is there but cannot be loaded', async () => {
    const res = await fetch(`${broken.url}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('could not be loaded');
    expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
  });
});
