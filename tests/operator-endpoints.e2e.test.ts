/**
 * The operator's endpoints. The admin endpoint lives on its own loopback-only listener, not on
 * the public port — guards against a reverse proxy on the same machine forwarding
 * `/api/admin/*` from anywhere to the public port, where the old peer-address check saw the
 * proxy's 127.0.0.1 and let it through (only the token still stood in the way). `/metrics`
 * wants METRICS_TOKEN when one is set — it was public.
 */
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataLock } from '../server/data-lock.ts';
import { post } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

const TOKEN = 'metrics-token-0123456789';
let server: TestServer;
let proxy: http.Server;
let proxyUrl: string;

beforeAll(async () => {
  server = await startTestServer({ METRICS_TOKEN: TOKEN });
  // A local reverse proxy in front of the public port, as nginx or Caddy would be.
  proxy = http.createServer((req, res) => {
    const upstream = http.request(`${server.url}${req.url}`, { method: req.method, headers: { ...req.headers, 'x-forwarded-for': '203.0.113.5' } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await server?.destroy();
});

describe('admin listener', () => {
  const token = () => ({ 'x-livepanel-admin-token': readDataLock(server.dataDir)!.adminToken });

  it('is a separate loopback port recorded in the data lock', () => {
    const lock = readDataLock(server.dataDir)!;
    expect(lock.port).toBeGreaterThan(0);
    expect(lock.port).not.toBe(server.port);
    expect(server.adminUrl).toBe(`http://127.0.0.1:${lock.port}`);
  });

  it('answers admin commands there, with the lock token', async () => {
    const ok = await post(`${server.adminUrl}/api/admin/list-projects`, {}, token());
    expect(ok.status).toBe(200);
    expect(Array.isArray(ok.json)).toBe(true);
    const bad = await post(`${server.adminUrl}/api/admin/list-projects`, {}, { 'x-livepanel-admin-token': 'wrong' });
    expect(bad.status).toBe(401);
  });

  it('does not exist on the public port, directly or through a local reverse proxy', async () => {
    for (const base of [server.url, proxyUrl]) {
      const r = await post(`${base}/api/admin/create-project`, { name: 'x', domain: 'x.example' }, token());
      expect(r.status, base).toBe(404);
      expect(r.json?.error?.code).toBe('not_found');
    }
    const listed = await post(`${server.adminUrl}/api/admin/list-projects`, {}, token());
    expect(listed.json).toEqual([]);
  });

  it('is not reachable on the machine’s other addresses', async () => {
    const port = readDataLock(server.dataDir)!.port;
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!external) return; // a machine with loopback only: nothing else to try
    const connected = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, external.address);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    expect(connected).toBe(false);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  it('answers 401 without the bearer token, and the metrics with it', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const r = await fetch(`${server.url}/metrics`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toMatch(/^# TYPE livepanel_events_accepted_total counter$/m);
    // The embedded store's own memory, read from chDB at each scrape.
    for (const part of ['tracked', 'allocator_allocated', 'allocator_resident']) {
      const bytes = Number(new RegExp(`^livepanel_chdb_memory_bytes\\{part="${part}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      expect(bytes, part).toBeGreaterThan(0);
    }
  });
});
