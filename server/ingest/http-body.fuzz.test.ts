/**
 * `/track` and `/batch` bodies read straight from uWS's buffer (http/uws.ts readText), over a
 * real socket: oversized bodies (declared or streamed), bodies that are not UTF-8 or not JSON,
 * and the same while the server is not accepting (starting or draining). Every answer is a
 * stable 4xx/503, and no promise is left rejected unhandled: in the real process that is fatal
 * (server/main.ts drains and exits), so one hostile request would take every tenant down. A
 * client that leaves mid-body must not stay "in flight" for ever either: a drain waits for
 * every request in flight, so one such client made every later shutdown hang.
 * Ingest, auth and limits are stubs: nothing here gets past the body.
 */

import uWS from 'uWebSockets.js';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/clients.ts';
import { AppError } from '../errors.ts';
import type { Limits } from '../limits/limits.ts';
import { silentLogger } from '../log.ts';
import { registerHttpIngest } from './http.uws.ts';
import type { Ingest } from './ingest.ts';

const MAX_BODY = 1024;
let accepting = true;
let port = 0;
let listen: uWS.us_listen_socket;
let drain: () => Promise<void>;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

const refuse = () => {
  throw new Error('not reached: the body is refused first');
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const app = uWS.App();
  ({ drain } = registerHttpIngest(app, {
    ingest: { accept: refuse } as unknown as Ingest,
    auth: { forIngest: refuse } as unknown as Authenticator,
    limits: { authenticate: refuse, events: refuse } as unknown as Limits,
    log: silentLogger,
    ip: { trust: false },
    maxBodyBytes: MAX_BODY,
    accepting: () => accepting,
  }));
  listen = await new Promise<uWS.us_listen_socket>((resolve, reject) => app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('listen')))));
  port = uWS.us_socket_local_port(listen as unknown as uWS.us_socket);
});

afterAll(() => {
  uWS.us_listen_socket_close(listen);
  process.off('unhandledRejection', onUnhandled);
});

afterEach(() => {
  accepting = true;
  unhandled.length = 0;
});

/** Sends raw bytes (head, then body in `parts`) and resolves with the status code of the answer. */
function rawRequest(head: string, parts: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without an answer: ${JSON.stringify(got)}`)));
    socket.write(head);
    // Separate writes, so uWS is likely to hand the body over in more than one chunk.
    parts.forEach((p, i) => {
      setTimeout(() => socket.write(p), 5 * (i + 1));
    });
  });
}

function post(route: string, body: Buffer | Buffer[], declaredLength?: number): Promise<number> {
  const parts = Array.isArray(body) ? body : [body];
  const length = declaredLength ?? parts.reduce((n, p) => n + p.length, 0);
  const head = `POST ${route} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
  return rawRequest(head, parts);
}

/** Lets pending rejections surface (they are reported after a turn of the event loop). */
const settle = () => new Promise((r) => setTimeout(r, 50));

describe.each(['/track', '/batch'])('%s body', (route) => {
  it('answers 400 invalid_utf8 / invalid_json for broken bodies, in one chunk or several', async () => {
    expect(await post(route, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toBe(400);
    expect(await post(route, Buffer.from('{"a":'))).toBe(400);
    // A multi-byte character cut between chunks is still valid UTF-8 once joined (then invalid JSON).
    const euro = Buffer.from('{"€":');
    expect(await post(route, [euro.subarray(0, 3), euro.subarray(3)])).toBe(400);
    expect(await post(route, [Buffer.from('{"a":"\xed'), Buffer.from('\xa0\x80"}', 'latin1')])).toBe(400); // an encoded surrogate
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('answers 413 for a body over the limit, declared or streamed', async () => {
    expect(await post(route, Buffer.alloc(10, 0x20), MAX_BODY + 1)).toBe(413);
    expect(await post(route, [Buffer.alloc(MAX_BODY, 0x20), Buffer.alloc(10, 0x20)])).toBe(413);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('answers 503 while not accepting, and an oversized body then leaves no unhandled rejection', async () => {
    accepting = false;
    expect(await post(route, Buffer.from('{}'))).toBe(503);
    expect(await post(route, Buffer.alloc(10, 0x20), MAX_BODY + 1)).toBe(503);
    expect(await post(route, [Buffer.alloc(MAX_BODY, 0x20), Buffer.alloc(10, 0x20)])).toBe(503);
    await settle();
    expect(unhandled).toEqual([]);
  });
});

describe('a client leaving mid-body', () => {
  it.each(['/track', '/batch'])('%s: its request ends, so a drain still completes', async (route) => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST ${route} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"events":[`);
    await settle(); // the request and its first bytes are in
    socket.destroy();
    const drained = await Promise.race([drain().then(() => 'drained'), new Promise((r) => setTimeout(() => r('still waiting'), 10_000))]);
    expect(drained).toBe('drained');
    await settle();
    expect(unhandled).toEqual([]);
  });
});

describe('the client address behind a proxy that adds its own X-Forwarded-For line', () => {
  it.each(['/track', '/batch'])('%s: a line the client sent first does not name its address; without a usable header, the TCP peer does', async (route) => {
    const seen: string[] = [];
    const app = uWS.App();
    registerHttpIngest(app, {
      ingest: { accept: refuse } as unknown as Ingest,
      auth: { forIngest: refuse, forIngestCached: () => undefined } as unknown as Authenticator,
      limits: {
        authBlocked: () => ({ allowed: true }),
        authenticate: (ip: string) => {
          seen.push(ip);
          throw new AppError(401, 'unknown_client', 'stub');
        },
        events: refuse,
      } as unknown as Limits,
      log: silentLogger,
      ip: { trust: { hops: 1 } },
      maxBodyBytes: MAX_BODY,
      accepting: () => true,
    });
    const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('listen')))),
    );
    try {
      const proxied = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
      const body = route === '/track' ? '{"type":"track","payload":{"name":"x"}}' : '{"events":[{"type":"track","payload":{"name":"x"}}]}';
      const send = (forwarded: string) =>
        new Promise<number>((resolve, reject) => {
          const c = net.connect(proxied, '127.0.0.1');
          c.on('data', (d) => {
            c.destroy();
            resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1]));
          });
          c.on('error', reject);
          c.write(`POST ${route} HTTP/1.1\r\nhost: x\r\n${forwarded}content-length: ${body.length}\r\n\r\n${body}`);
        });
      // HAProxy's `option forwardfor` appends a line of its own after the client's.
      expect(await send('x-forwarded-for: 6.6.6.6\r\nx-forwarded-for: 203.0.113.9\r\n')).toBe(401);
      // No proxy header: the TCP peer, which the route reads itself (before its first await).
      expect(await send('')).toBe(401);
      expect(await send('x-forwarded-for: unknown\r\n')).toBe(401);
      expect(seen).toEqual(['203.0.113.9', '127.0.0.1', '127.0.0.1']);
    } finally {
      uWS.us_listen_socket_close(socket);
    }
  });
});
