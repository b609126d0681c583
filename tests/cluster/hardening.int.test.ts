/**
 * Revocation and rate limits in the distributed shape, across real processes: two `ingest`
 * nodes and one `worker,web` node on the shared Redis (own prefix) and PostgreSQL (own database).
 *
 * 1. `disable-client` run by the admin CLI (with DATABASE_URL and REDIS_URL, as an operator
 *    would) closes the client's SDK sockets on both ingest nodes and its dashboards on an
 *    ingest and the web node within seconds, and every node refuses its next request at once —
 *    no 30 s client cache grace. Guards against: open sockets on other nodes kept working.
 * 2. A visitor's event budget is shared by the nodes: after spending most of it on node 1,
 *    node 2 refuses the visitor well before its own local budget would have run out.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, ROOT } from '../../server/cluster/local-cluster.ts';
import { createMetadata } from '../../server/store/metadata.ts';
import { openMetadataDb } from '../../server/store/postgres.ts';
import { WS_CLOSE_REVOKED } from '../../shared/ws-protocol.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { TEST_REDIS_URL, type TestRedis } from '../support/redis.ts';
import { openWs, type WsClient } from '../support/ws-client.ts';
import { browserUa, createProject, ORIGIN, type Project, sleep, startTestCluster, type TestCluster, track, waitFor } from './harness.ts';

const run = promisify(execFile);
let redis: TestRedis;
let db: TestDatabase;
let testCluster: TestCluster;
let cluster: LocalCluster;
let project: Project;

beforeAll(async () => {
  testCluster = await startTestCluster({
    folder: 'lp-cluster-hardening-',
    env: { TRUST_PROXY: '1', RATE_LIMIT_BROWSER_EVENTS: '100/1h', CLIENT_RECHECK_MS: '1000', LOG_LEVEL: 'warn' },
  });
  ({ cluster, redis, db } = testCluster);
  project = await createProject(db.url);
});

afterAll(async () => {
  await testCluster?.close();
});

async function newClient(type: 'write' | 'read', origins: string[] = []) {
  const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
  try {
    return await createMetadata(meta.db).createClient({ projectId: project.projectId, type, origins });
  } finally {
    await meta.close();
  }
}

function dashboard(url: string, creds: { clientId: string; clientSecret: string }) {
  const socket: Socket = ioClient(url, { transports: ['websocket'], reconnection: false, auth: { ...creds, projectId: project.projectId } });
  const seen = { disconnected: '' };
  socket.on('disconnect', (reason) => {
    seen.disconnected = reason;
  });
  const connected = new Promise<void>((resolve, reject) => {
    socket.on('connect', () => resolve());
    socket.on('connect_error', reject);
  });
  return { socket, seen, connected };
}

describe('distributed shape, two ingest nodes and a web node', () => {
  it('disable-client from the CLI closes the client’s sockets and dashboards on every node within seconds', async () => {
    const [n1, n2] = cluster.ingest;
    const writer = await newClient('write', [ORIGIN]);
    const reader = await newClient('read');
    const sdk: WsClient[] = [];
    for (const node of [n1!, n2!])
      sdk.push(await openWs(node.url, { clientId: writer.clientId }, { origin: ORIGIN, 'user-agent': browserUa(1), 'x-forwarded-for': '81.9.0.1' }));
    const dashes = [dashboard(n1!.url, reader), dashboard(cluster.worker.url, reader)];
    await Promise.all(dashes.map((d) => d.connected));
    // Warm every node's client cache: without revocation each would keep trusting it for 30 s.
    for (const node of [n1!, n2!])
      expect((await track(node.url, { ...project, clientId: writer.clientId }, { ua: browserUa(2), ip: '81.9.0.2' }, 'warm')).status).toBe(200);

    const env = { ...process.env, DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: redis.prefix, LOG_LEVEL: 'silent' };
    for (const client of [writer.clientId, reader.clientId]) {
      const out = await run(process.execPath, ['--import', 'tsx', 'server/admin/cli.ts', 'disable-client', '--client', client], { cwd: ROOT, env });
      expect(JSON.parse(out.stdout)).toEqual({ clientId: client, disabled: true });
    }

    const closes = await Promise.all(sdk.map((c) => c.closed));
    expect(closes.map((c) => c.code)).toEqual([WS_CLOSE_REVOKED, WS_CLOSE_REVOKED]);
    await waitFor(
      async () => dashes.every((d) => d.seen.disconnected !== ''),
      10_000,
      () => `dashboards still connected: ${JSON.stringify(dashes.map((d) => d.seen))}`,
    );
    for (const d of dashes) {
      expect(d.seen.disconnected).toBe('io server disconnect');
    }
    for (const node of [n1!, n2!]) {
      const again = await track(node.url, { ...project, clientId: writer.clientId }, { ua: browserUa(2), ip: '81.9.0.2' }, 'after');
      expect(again.status).toBe(401);
      expect(again.body?.error?.code).toBe('client_disabled');
    }
  });

  it('closes a disabled client’s sockets even when no node heard of it (the bus message was missed)', async () => {
    const writer = await newClient('write', [ORIGIN]);
    const sdk = await openWs(
      cluster.ingest[0]!.url,
      { clientId: writer.clientId },
      { origin: ORIGIN, 'user-agent': browserUa(4), 'x-forwarded-for': '81.9.2.1' },
    );
    // Disabled behind every node's back, straight in PostgreSQL: no revocation is published.
    const pg = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await pg`UPDATE clients SET disabled_at = now() WHERE id = ${writer.clientId}`;
    } finally {
      await pg.end();
    }
    expect((await sdk.closed).code).toBe(WS_CLOSE_REVOKED); // at the node's next re-check (CLIENT_RECHECK_MS)
  });

  it('shares a visitor’s event budget between the ingest nodes', async () => {
    const [n1, n2] = cluster.ingest;
    const visitor = { ua: browserUa(3), ip: '81.9.1.1' };
    for (let i = 0; i < 80; i++) expect((await track(n1!.url, project, visitor, 'budget')).status).toBe(200);
    // Node 1 reports busy keys to Redis in the background, in steps of 5% of the budget: wait
    // until all but the last step's worth of the 80 are counted there.
    await waitFor(
      async () => {
        const keys = await redis.client.keys(`${redis.prefix}ratelimit:browser-events.*`);
        const values = await Promise.all(keys.map((k) => redis.client.get(k)));
        return values.some((v) => Number(v) >= 76);
      },
      10_000,
      () => 'node 1 never reported the visitor’s spending',
    );
    // Alone, node 2 would let this visitor send 100 more; together the budget has 20 left.
    let accepted = 0;
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await track(n2!.url, project, visitor, 'budget');
      if (r.status === 200) accepted++;
      else {
        expect(r.status).toBe(429);
        expect(r.body?.error?.code).toBe('rate_limited');
        refused = true;
      }
      await sleep(50);
    }
    expect(refused).toBe(true);
    expect(accepted).toBeLessThan(100);
    console.info(`shared budget: node 2 accepted ${accepted} of the visitor's events after node 1's 80 (budget 100)`);
  });
});
