/**
 * Acknowledged == stored under a burst: thousands of `POST /track` requests over keep-alive
 * connections and many `/ws` batches at the same time. Every event the server acknowledged
 * (a 2xx, an ack's `accepted`) must be in ClickHouse once — none missing, none twice.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_UA, IPHONE_UA, type Reader, reader } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';
import { openWs } from './support/ws-client.ts';

const HTTP_REQUESTS = 2_000;
const HTTP_CONNECTIONS = 32;
const SOCKETS = 8;
const BATCHES_PER_SOCKET = 40;
const EVENTS_PER_BATCH = 50;

let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: Reader;

beforeAll(async () => {
  // One address sending thousands of events a second is exactly what the per-visitor rate limit
  // refuses; this test is about durability under load, so limits are off (as in the benchmarks).
  server = await startTestServer({ RATE_LIMITS: 'off' });
  project = await server.createProject('Burst', 'example.com');
  read = reader(server.url, project.projectId, project, server.settle);
});

afterAll(async () => {
  await server?.destroy();
});

/** 2,000 single-event requests, at most HTTP_CONNECTIONS at a time on keep-alive sockets. */
async function httpBurst(): Promise<{ acked: number; statuses: Record<number, number>; reused: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_CONNECTIONS });
  const url = new URL(`${server.url}/track`);
  const statuses: Record<number, number> = {};
  let acked = 0;
  let reused = 0;
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ type: 'track', payload: { name: 'burst_http', properties: { i, __path: `https://example.com/p/${i % 20}` } } });
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            origin: 'https://example.com',
            'openpanel-client-id': project.clientId,
            'user-agent': i % 2 ? CHROME_UA : IPHONE_UA,
          },
        },
        (res) => {
          if (req.reusedSocket) reused++;
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => {
            statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
            if (res.statusCode === 200 && JSON.parse(text).deviceId) acked++;
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const worker = async () => {
    while (next < HTTP_REQUESTS) {
      const i = next++;
      await one(i);
    }
  };
  try {
    await Promise.all(Array.from({ length: HTTP_CONNECTIONS }, worker));
  } finally {
    agent.destroy();
  }
  return { acked, statuses, reused };
}

/** SOCKETS sockets, each sending all its batches at once (pipelined) and collecting the acks. */
async function wsBurst(): Promise<{ accepted: number; acks: number; notAcked: unknown[] }> {
  const totals = await Promise.all(
    Array.from({ length: SOCKETS }, async (_, s) => {
      const ws = await openWs(
        server.url,
        { clientId: project.clientId, deviceId: `burst-device-${s}` },
        { origin: 'https://example.com', 'user-agent': CHROME_UA },
      );
      for (let b = 0; b < BATCHES_PER_SOCKET; b++) {
        const events = Array.from({ length: EVENTS_PER_BATCH }, (_, e) => ({
          id: `s${s}-b${b}-e${e}`,
          type: 'track',
          payload: { name: 'burst_ws', properties: { s, b, e } },
        }));
        ws.send({ type: 'batch', seq: b, events });
      }
      let accepted = 0;
      let acks = 0;
      const notAcked: unknown[] = [];
      for (let b = 0; b < BATCHES_PER_SOCKET; b++) {
        const frame = await ws.next(60_000);
        if (frame.type === 'ack') {
          acks++;
          accepted += frame.accepted;
          if (frame.rejected.length || frame.dropped.length) notAcked.push(frame);
        } else notAcked.push(frame);
      }
      await ws.close();
      return { accepted, acks, notAcked };
    }),
  );
  return {
    accepted: totals.reduce((n, t) => n + t.accepted, 0),
    acks: totals.reduce((n, t) => n + t.acks, 0),
    notAcked: totals.flatMap((t) => t.notAcked),
  };
}

describe('burst', () => {
  it('stores exactly what it acknowledged, once, over HTTP and WebSocket at the same time', async () => {
    const [h, w] = await Promise.all([httpBurst(), wsBurst()]);

    // Everything was acknowledged (nothing refused under this load)…
    expect(h.statuses).toEqual({ 200: HTTP_REQUESTS });
    expect(h.acked).toBe(HTTP_REQUESTS);
    expect(h.reused).toBeGreaterThan(HTTP_REQUESTS - HTTP_CONNECTIONS * 2); // keep-alive was in use
    expect(w.notAcked).toEqual([]);
    expect(w.acks).toBe(SOCKETS * BATCHES_PER_SOCKET);
    expect(w.accepted).toBe(SOCKETS * BATCHES_PER_SOCKET * EVENTS_PER_BATCH);

    // …and what was acknowledged is stored, each event once — readable right away.
    expect(await read.countDistinct('burst_http')).toEqual({ count: h.acked, distinct: h.acked });
    expect(await read.countDistinct('burst_ws')).toEqual({ count: w.accepted, distinct: w.accepted });
    // One session per device: two browser agents on one IP over HTTP, one per socket.
    expect(await read.count('session_start')).toBe(2 + SOCKETS);
  });
});
