/**
 * @livepanel/node against a running Livepanel: events over the socket with the secret as a
 * header (server-side: no sessions; `__ip` attributes them to the visitor), over `POST
 * /batch` when a proxy refuses WebSocket upgrades, and a script that tracks and `await
 * shutdown()`s loses nothing.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LivepanelNode } from '../sdk/node/src/index.ts';
import { type Reader, reader } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';
import { waitForRows } from './support/sdk-pages.ts';

let lp: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: Reader;

beforeAll(async () => {
  lp = await startTestServer();
  project = await lp.createProject('Node app');
  read = reader(lp.url, project.projectId, project, () => lp.settle());
});
afterAll(async () => {
  await lp?.destroy();
});

/** An HTTP proxy in front of Livepanel that forwards requests but refuses WebSocket upgrades (as some corporate proxies do). */
async function noSocketProxy(target: string): Promise<{ url: string; upgrades: () => number; close(): Promise<void> }> {
  let upgrades = 0;
  const server = http.createServer((req, res) => {
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  server.on('upgrade', (_req, socket) => {
    upgrades++;
    socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades: () => upgrades,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('@livepanel/node', () => {
  it('sends over the socket with the secret header; server-side events take the visitor from __ip', async () => {
    const client = new LivepanelNode({ apiUrl: lp.url, clientId: project.clientId, clientSecret: project.clientSecret });
    for (let i = 0; i < 120; i++) client.track('api_call', { i, profileId: `user-${i % 3}` });
    client.track('checkout', { __ip: '8.8.8.8', __userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148' });
    client.identify({ profileId: 'user-1', email: 'one@example.com' });
    client.increment('api_calls', 5, 'user-1');
    await client.flush();
    expect(client.stats()).toMatchObject({ queued: 0, dropped: 0, rejected: 0, connected: true });
    const rows = await waitForRows(
      () => read.events(),
      (r) => r.length >= 121,
    );
    expect(rows.filter((r) => r.name === 'api_call')).toHaveLength(120);
    // Server-side events open no sessions; the one attributed to a visitor's phone does.
    expect(rows.filter((r) => r.name === 'api_call').every((r) => r.session_id === '' && r.device === 'server')).toBe(true);
    expect(new Set(rows.map((r) => r.sdk_name))).toEqual(new Set(['node']));
    const checkout = rows.find((r) => r.name === 'checkout')!;
    expect(checkout).toMatchObject({ country: 'US', os: 'iOS' });
    expect(rows.filter((r) => r.name === 'session_start').map((r) => r.device_id)).toEqual([checkout.device_id]);
    expect((await read.profile('user-1')).properties).toMatchObject({ api_calls: '5' });
    await client.shutdown();
  });

  it('falls back to POST /batch when the socket cannot open', async () => {
    const proxy = await noSocketProxy(lp.url);
    try {
      const client = new LivepanelNode({ apiUrl: proxy.url, clientId: project.clientId, clientSecret: project.clientSecret });
      for (let i = 0; i < 40; i++) client.track('via_http', { i });
      await client.shutdown(30_000);
      expect(client.stats()).toMatchObject({ queued: 0, connected: false });
      expect(proxy.upgrades()).toBeGreaterThan(0);
      const rows = await waitForRows(
        () => read.events(),
        (r) => r.filter((x) => x.name === 'via_http').length >= 40,
      );
      expect(rows.filter((r) => r.name === 'via_http').map((r) => Number(r.properties.i))).toEqual(Array.from({ length: 40 }, (_, i) => i));
    } finally {
      await proxy.close();
    }
  });

  it('a script that tracks and awaits shutdown() exits with every event stored', async () => {
    const script = `
      import { init } from '@livepanel/node';
      const lp = init({ apiUrl: process.env.LP_URL, clientId: process.env.LP_CLIENT, clientSecret: process.env.LP_SECRET });
      for (let i = 0; i < 300; i++) lp.track('from_script', { i });
      await lp.shutdown();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...process.env, LP_URL: lp.url, LP_CLIENT: project.clientId, LP_SECRET: project.clientSecret },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(await read.count('from_script')).toBe(300);
  });
});
