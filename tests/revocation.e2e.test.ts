/**
 * Disabling a client reaches the connections it already authorised. Guards against what was
 * reproduced before: after `disable-client`, an open `/ws` kept acknowledging and storing and
 * an open dashboard kept receiving ticks — 40 s later, past the 30 s client cache.
 * (Across processes in the distributed shape: tests/cluster/hardening.int.test.ts.)
 */
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WS_CLOSE_REVOKED } from '../shared/ws-protocol.ts';
import { admin, CHROME_UA, post, waitUntil } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';
import { openWs } from './support/ws-client.ts';

const ORIGIN = 'https://example.com';
let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer();
  project = await server.createProject('Revocation', 'example.com');
});

afterAll(async () => {
  await server?.destroy();
});

function dashboard(creds: { clientId: string; clientSecret: string }) {
  const socket: Socket = ioClient(server.url, {
    transports: ['websocket'],
    reconnection: false,
    auth: { clientId: creds.clientId, clientSecret: creds.clientSecret, projectId: project.projectId },
  });
  const seen = { disconnect: [] as string[], ticks: 0 };
  socket.on('disconnect', (reason) => seen.disconnect.push(reason));
  socket.on('tick' as never, () => {
    seen.ticks++;
  });
  const connected = new Promise<void>((resolve, reject) => {
    socket.on('connect', () => resolve());
    socket.on('connect_error', reject);
  });
  return { socket, seen, connected };
}

describe('disable-client', () => {
  it('closes the client’s open SDK sockets and dashboards at once; other clients keep theirs', async () => {
    const writer = await admin<{ clientId: string; clientSecret: string }>(server.dataDir, 'create-client', {
      project: project.projectId,
      type: 'write',
      origins: [ORIGIN],
    });
    const reader = await admin<{ clientId: string; clientSecret: string }>(server.dataDir, 'create-client', { project: project.projectId, type: 'read' });
    const sdk = await openWs(server.url, { clientId: writer.clientId }, { origin: ORIGIN, 'user-agent': CHROME_UA });
    const otherSdk = await openWs(server.url, { clientId: project.clientId }, { origin: ORIGIN, 'user-agent': CHROME_UA });
    expect(await sdk.batch(1, [{ id: 'r-1', type: 'track', payload: { name: 'before' } }])).toMatchObject({ type: 'ack', accepted: 1 });
    const dash = dashboard(reader);
    const otherDash = dashboard(project);
    await Promise.all([dash.connected, otherDash.connected]);

    await admin(server.dataDir, 'disable-client', { client: writer.clientId });
    await admin(server.dataDir, 'disable-client', { client: reader.clientId });

    expect(await sdk.next()).toMatchObject({ type: 'error', code: 'client_disabled' });
    expect((await sdk.closed).code).toBe(WS_CLOSE_REVOKED);
    await waitUntil(() => dash.seen.disconnect.length > 0);
    expect(dash.seen.disconnect).toEqual(['io server disconnect']); // socket.io does not reconnect after this

    // The rest carries on.
    expect(otherSdk.open).toBe(true);
    expect(otherDash.socket.connected).toBe(true);
    expect(await otherSdk.batch(1, [{ id: 'r-2', type: 'track', payload: { name: 'after' } }])).toMatchObject({ type: 'ack', accepted: 1 });
    // New requests by the disabled client are refused (no 30 s cache grace).
    const again = await post(`${server.url}/track`, { type: 'track', payload: { name: 'x' } }, { origin: ORIGIN, 'openpanel-client-id': writer.clientId });
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe('client_disabled');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics.split('\n').filter((l) => l.startsWith('livepanel_revoked_sockets_total'))).toEqual(['livepanel_revoked_sockets_total 1']);
    await otherSdk.close();
    otherDash.socket.close();
  });
});
