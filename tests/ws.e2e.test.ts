/**
 * The SDK socket, `GET /ws`, end to end against a real Livepanel (chDB + PGlite): auth on
 * upgrade, acks that mean "stored", idempotent resends after a reconnect, per-event
 * rejections, unreadable frames, oversized frames, heartbeats, and the drain on stop (ack
 * in-flight batches, then close with 1012).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLivepanel } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { silentLogger } from '../server/log.ts';
import { CHROME_UA, type Reader, reader } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';
import { connectWs, openWs, WsClient } from './support/ws-client.ts';

let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: Reader;
const sockets: WsClient[] = [];

/** Server-SDK style: client id in the query, secret in a header, a browser agent forwarded. */
async function secretSocket(extra: Record<string, string> = {}): Promise<WsClient> {
  const ws = await openWs(server.url, { clientId: project.clientId, ...extra }, { 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA });
  sockets.push(ws);
  return ws;
}

const track = (id: string, name: string, properties: Record<string, unknown> = {}) => ({ id, type: 'track', payload: { name, properties } });

beforeAll(async () => {
  server = await startTestServer();
  project = await server.createProject('Sockets', 'example.com');
  read = reader(server.url, project.projectId, project, server.settle);
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await server?.destroy();
});

describe('upgrade auth', () => {
  const refused = async (query: Record<string, string>, headers: Record<string, string> = {}) => {
    const r = await connectWs(server.url, query, headers);
    if (r instanceof WsClient) {
      sockets.push(r);
      throw new Error('upgrade was accepted');
    }
    return r;
  };

  it('refuses a socket without a client id with 401 JSON', async () => {
    expect(await refused({})).toEqual({
      status: 401,
      contentType: 'application/json',
      body: { error: { code: 'missing_client_id', message: 'Send the client id in the openpanel-client-id header' } },
    });
  });

  it('refuses unknown and malformed client ids', async () => {
    const unknown = { status: 401, contentType: 'application/json', body: { error: { code: 'unknown_client', message: 'Unknown client id' } } };
    expect(await refused({ clientId: '3f0c2b9e-8a51-4f7e-9d7c-2a8e4b6f1c0d' })).toEqual(unknown);
    expect(await refused({ clientId: 'not-a-uuid' })).toEqual(unknown);
  });

  it('refuses a browser origin the project does not allow', async () => {
    expect(await refused({ clientId: project.clientId }, { origin: 'https://evil.example.org' })).toEqual({
      status: 401,
      contentType: 'application/json',
      body: { error: { code: 'origin_not_allowed', message: 'Origin https://evil.example.org is not allowed for this client' } },
    });
  });

  it('refuses a wrong secret, and a read client', async () => {
    expect((await refused({ clientId: project.clientId }, { 'openpanel-client-secret': 'sec_wrong' })).body.error.code).toBe('bad_secret');
    const readOnly = await server.createClient(project.projectId, 'read');
    expect(await refused({ clientId: readOnly.clientId }, { 'openpanel-client-secret': readOnly.clientSecret })).toEqual({
      status: 401,
      contentType: 'application/json',
      body: { error: { code: 'forbidden', message: 'A read client cannot send events' } },
    });
  });

  it('accepts the secret in a header, and an allowed browser origin without one', async () => {
    const bySecret = await secretSocket();
    expect(bySecret.open).toBe(true);
    const byOrigin = await openWs(server.url, { clientId: project.clientId }, { origin: 'https://www.example.com', 'user-agent': CHROME_UA });
    sockets.push(byOrigin);
    expect(await byOrigin.batch(1, [track('origin-1', 'ws_origin')])).toEqual({ type: 'ack', seq: 1, accepted: 1, rejected: [], dropped: [] });
  });
});

describe('batches', () => {
  const ids = ['c1-1-0', 'c1-1-1', 'c1-1-2', 'c1-1-3', 'c1-1-4'];
  const batch = ids.map((id, i) => track(id, 'ws_click', { n: i, __path: 'https://example.com/pricing' }));

  it('acks a batch only once its rows are stored', async () => {
    const ws = await secretSocket({ deviceId: 'device-abc' });
    expect(await ws.batch(1, batch)).toEqual({ type: 'ack', seq: 1, accepted: 5, rejected: [], dropped: [] });
    // Straight after the ack, with no waiting: the rows must already be readable.
    expect(await read.count('ws_click')).toBe(5);
    const stored = (await read.events(50)).filter((e) => e.name === 'ws_click');
    expect(stored.map((e) => e.properties.n).sort()).toEqual(['0', '1', '2', '3', '4']);
    for (const e of stored) expect(e).toMatchObject({ device_id: 'device-abc', path: '/pricing', origin: 'https://example.com', browser: 'Chrome' });
    expect(new Set(stored.map((e) => e.session_id)).size).toBe(1);
  });

  it('drops a resent batch as duplicates after a reconnect, storing nothing twice', async () => {
    const again = await secretSocket({ deviceId: 'device-abc' });
    expect(await again.batch(1, batch)).toEqual({
      type: 'ack',
      seq: 1,
      accepted: 0,
      rejected: [],
      dropped: ids.map((_, index) => ({ index, reason: 'duplicate' })),
    });
    // Half old, half new: only the new one is stored.
    expect(await again.batch(2, [batch[3], track('c1-2-0', 'ws_click', { n: 5 }), batch[0]])).toEqual({
      type: 'ack',
      seq: 2,
      accepted: 1,
      rejected: [],
      dropped: [
        { index: 0, reason: 'duplicate' },
        { index: 2, reason: 'duplicate' },
      ],
    });
    expect(await read.countDistinct('ws_click')).toEqual({ count: 6, distinct: 6 });
  });

  it('rejects bad events one by one and stores their neighbours', async () => {
    const ws = await secretSocket();
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 9; i++) deep = { d: deep };
    const ack = await ws.batch(7, [
      track('m-0', 'ws_mixed'),
      { id: 'm-1', type: 'track', payload: { properties: {} } }, // no name
      track('m-2', 'ws_mixed'),
      track('x'.repeat(65), 'ws_mixed'), // id too long
      track('m-4', 'ws_mixed', deep),
      { id: 'm-5', type: 'alias', payload: { profileId: 'a', alias: 'b' } },
      track('m-6', 'ws_mixed', { ok: true }),
      track('m-7', 'ws_mixed', { blob: 'x'.repeat(70_000) }), // over MAX_EVENT_BYTES
    ]);
    expect(ack).toMatchObject({ type: 'ack', seq: 7, accepted: 3, dropped: [] });
    if (ack.type !== 'ack') throw new Error('not an ack');
    expect(ack.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'invalid_event'],
      [3, 'invalid_event'],
      [4, 'too_deep'],
      [5, 'invalid_event'],
      [7, 'payload_too_large'],
    ]);
    expect(ack.rejected[1]!.message).toBe('Event id must be a string of 1 to 64 characters');
    expect(ack.rejected[2]!.message).toBe('Properties nest deeper than 8 levels (at "d.d.d.d.d.d.d.d")');
    expect(await read.count('ws_mixed')).toBe(3);

    // A rejected event was not stored, so its id is free: the corrected resend is accepted.
    expect(await ws.batch(8, [track('m-4', 'ws_mixed', { fixed: true }), track('m-0', 'ws_mixed')])).toEqual({
      type: 'ack',
      seq: 8,
      accepted: 1,
      rejected: [],
      dropped: [{ index: 1, reason: 'duplicate' }],
    });
    expect(await read.count('ws_mixed')).toBe(4);
  });

  it('stores an id repeated within one batch once', async () => {
    const ws = await secretSocket();
    expect(await ws.batch(1, [track('twice', 'ws_twice'), track('once', 'ws_twice'), track('twice', 'ws_twice')])).toEqual({
      type: 'ack',
      seq: 1,
      accepted: 2,
      rejected: [],
      dropped: [{ index: 2, reason: 'duplicate' }],
    });
    expect(await read.countDistinct('ws_twice')).toEqual({ count: 2, distinct: 2 });
  });
});

describe('unreadable frames', () => {
  it('answers invalid JSON, invalid UTF-8 and wrong shapes with an error frame and keeps the socket', async () => {
    const ws = await secretSocket();
    ws.socket.send(Buffer.from('{"type":"batch","seq":1,"events":[{"id":"\xff"}]}', 'latin1'), { binary: true });
    expect(await ws.next()).toEqual({ type: 'error', code: 'invalid_utf8', message: 'Frame is not valid UTF-8' });
    ws.socket.send('{"type":"batch",');
    expect(await ws.next()).toEqual({ type: 'error', code: 'invalid_json', message: 'Frame is not valid JSON' });
    ws.send({ type: 'subscribe', channel: 'x' });
    expect(await ws.next()).toMatchObject({ type: 'error', code: 'invalid_body' });
    ws.send({ type: 'batch', seq: 9, events: [] });
    expect(await ws.next()).toEqual({
      type: 'error',
      seq: 9,
      code: 'invalid_body',
      message: 'Frame does not match the protocol (events: Too small: expected array to have >=1 items)',
    });
    ws.send({ type: 'batch', seq: 10, events: Array.from({ length: 501 }, (_, i) => track(`big-${i}`, 'ws_never')) });
    expect(await ws.next()).toMatchObject({ type: 'error', seq: 10, code: 'invalid_body' });
    // Still usable.
    expect(await ws.batch(11, [track('after-errors', 'ws_after_errors')])).toEqual({ type: 'ack', seq: 11, accepted: 1, rejected: [], dropped: [] });
    expect(ws.open).toBe(true);
    expect(await read.count('ws_never')).toBe(0);
  });

  it('loses a text frame that is not UTF-8 at the WebSocket layer, and nothing else', async () => {
    // uWS validates text frames itself and drops the connection (no close frame: 1006).
    // SDKs send text; binary frames get the invalid_utf8 error above.
    const ws = await secretSocket();
    ws.socket.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
    expect((await ws.closed).code).toBe(1006);
    const other = await secretSocket();
    expect(await other.batch(1, [track('after-bad-text', 'ws_after_bad_text')])).toMatchObject({ type: 'ack', accepted: 1 });
  });

  it('closes the socket with 1009 on a frame over MAX_BODY_BYTES and keeps serving', async () => {
    const ws = await secretSocket();
    const big = JSON.stringify({ type: 'batch', seq: 1, events: [track('huge', 'ws_huge', { blob: 'x'.repeat(1024 * 1024 + 1) })] });
    ws.socket.send(big);
    expect(await ws.closed).toEqual({ code: 1009, reason: 'Frame larger than 1048576 bytes; send smaller batches' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const other = await secretSocket();
    expect(await other.batch(1, [track('after-huge', 'ws_after_huge')])).toMatchObject({ type: 'ack', accepted: 1 });
    expect(await read.count('ws_huge')).toBe(0);
  });
});

describe('heartbeat', () => {
  it('takes heartbeats silently and keeps the socket open', async () => {
    const ws = await secretSocket({ deviceId: 'hb-device' });
    ws.send({ type: 'heartbeat' });
    ws.send({ type: 'heartbeat' });
    // The next frame answers the batch: the heartbeats got no answer, and no error.
    expect(await ws.batch(3, [track('hb-1', 'ws_heartbeat')])).toEqual({ type: 'ack', seq: 3, accepted: 1, rejected: [], dropped: [] });
    expect(ws.pending()).toEqual([]);
    expect(ws.open).toBe(true);
  });
});

describe("drain (last: it stops the file's server)", () => {
  it('acks the in-flight batch, refuses new ones, closes with 1012, and the rows are stored', async () => {
    // chDB allows one data folder per process: stop the shared server and reopen its folder.
    await Promise.all(sockets.map((s) => s.close()));
    await server.stop();
    const reopen = (env: Record<string, string>) =>
      startLivepanel(loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: server.dataDir, LOG_LEVEL: 'silent', ...env }), silentLogger);
    const draining = await reopen({});
    let acked = -1;
    try {
      const ws = await openWs(draining.url, { clientId: project.clientId }, { 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA });
      const events = Array.from({ length: 20 }, (_, i) => track(`d-${i}`, 'drain_evt'));
      // A batch in flight when the drain starts is acknowledged before the socket closes; one
      // arriving after it is refused (or, once the socket is closed, never answered).
      ws.send({ type: 'batch', seq: 1, events });
      const stopped = draining.stop();
      ws.send({ type: 'batch', seq: 2, events: [track('late-0', 'drain_late')] });
      expect(await ws.closed).toEqual({ code: 1012, reason: 'server restarting; reconnect' });
      await stopped;
      const frames = ws.pending();
      const refused = { code: 'shutting_down', message: 'Node is draining; resend after reconnecting' };
      // Acks take milliseconds, so seq 1 may have reached the server before the drain began
      // (acked), after it (refused), or after the socket closed (unanswered; the SDK resends).
      const first = frames.filter((f) => f.seq === 1);
      expect(first.length).toBeLessThanOrEqual(1);
      if (first[0])
        expect([
          { type: 'ack', seq: 1, accepted: 20, rejected: [], dropped: [] },
          { type: 'error', seq: 1, ...refused },
        ]).toContainEqual(first[0]);
      acked = first[0]?.type === 'ack' ? 20 : 0;
      for (const f of frames.filter((x) => x.seq === 2)) expect(f).toEqual({ type: 'error', seq: 2, ...refused });
    } finally {
      await draining.stop();
    }

    // Reopen again: what was acknowledged is there, what was refused is not.
    const again = await reopen({});
    try {
      const r = reader(again.url, project.projectId, project, again.settle);
      expect(await r.countDistinct('drain_evt')).toEqual({ count: acked, distinct: acked });
      expect(await r.count('drain_late')).toBe(0);
    } finally {
      await again.stop();
    }
  });
});
