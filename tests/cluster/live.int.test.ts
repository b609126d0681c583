/**
 * The live channel across real processes (README "Live channel", docs/realtime.md): server/cluster/local-cluster.ts'
 * two `ingest` nodes and one `worker,web` node — each the real entry point, wired by app.ts —
 * on the shared Redis (this run's own prefix) and PostgreSQL (a fresh database). Dashboards
 * are socket.io-client sockets with a `read` client; events come in as a browser's `POST
 * /track` and an SDK's `/ws` batches.
 *
 * Guards against: ticks that stay on the node that received the events (or arrive twice);
 * one project's traffic on another's dashboards; presence counting only the dashboard's node,
 * keeping a SIGTERMed node's sockets until the TTL, or a SIGKILLed node's forever; a refused
 * handshake without a stable code; cross-node ticks that never resume after the adapter's
 * Redis connections drop. Timing is not asserted (bench/live.ts measures it); waits are
 * generous, except that a SIGTERMed node must drop out well before the presence TTL would
 * have dropped it anyway (that is the point of the check).
 *
 * One in-process case remains: that `close()` quits the adapter's own Redis connections (a
 * process that exits closes them whatever the code does).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../../server/auth/passwords.ts';
import { type LocalCluster, type NodeProcess, startNode } from '../../server/cluster/local-cluster.ts';
import { createRedisPresence } from '../../server/engines/presence.redis.ts';
import { connectDashboard, type Dashboard, eventsBatch, startLiveNode, testClients, watchTiles } from '../../server/live/live.fixtures.ts';
import { createAccounts } from '../../server/store/accounts.ts';
import { createMetadata } from '../../server/store/metadata.ts';
import { openMetadataDb } from '../../server/store/postgres.ts';
import { boardRequests, REALTIME_LAYOUT } from '../../shared/board-tiles.ts';
import type { LiveTick } from '../../shared/live.ts';
import type { TestDatabase } from '../support/postgres.ts';
import type { TestRedis } from '../support/redis.ts';
import {
  browserUa,
  createProject,
  ORIGIN,
  type Project,
  ResendingSocket,
  sleep,
  startTestCluster,
  type TestCluster,
  track,
  visitorIp,
  waitFor,
} from './harness.ts';

/** app.ts' Presence TTL: a node's report stops counting this long after its last heartbeat (every 2 s). */
const PRESENCE_TTL_MS = 10_000;
const WAIT = 10_000; // generous: these arrive in about 100–200 ms

let redis: TestRedis;
let db: TestDatabase;
let testCluster: TestCluster;
let cluster: LocalCluster;
let spare: number[];
const extra: NodeProcess[] = [];
const run = randomBytes(3).toString('hex');

type Auth = { clientId: string; clientSecret: string; projectId: string };
let A: Project; // root client: what the SDKs send with
let B: Project;
let readA: Auth;
let readB: Auth;
let writeA: Auth;
let disabledA: Auth;

const open: Dashboard[] = [];
const sdkSockets: WebSocket[] = [];
const dashboard = async (node: NodeProcess, auth: Auth) => {
  const d = await connectDashboard(node.url, auth);
  open.push(d);
  return d;
};
const node1 = () => cluster.ingest[0]!;
const node2 = () => cluster.ingest[1]!;
const web = () => cluster.worker;

/** Sum of `name`'s counts over the ticks a dashboard got (ticks are deltas). */
const shown = (d: Dashboard, name: string) => d.ticks.reduce((n, t) => n + (t.events[name] ?? 0), 0);
/** The node id app.ts gives a process: `<hostname>-<pid>-<random>`. */
const fromProcess = (t: LiveTick, n: NodeProcess) => t.node.startsWith(`${os.hostname()}-${n.child.pid}-`);

/** Opens `n` SDK sockets (browser-like: Origin, own device ids) on `node` for project A. */
/** Opens `n` SDK sockets on `node`, each its own device unless `devices` names them (the same name twice: two tabs of one browser). */
async function openSdkSockets(node: NodeProcess, n: number, devices?: string[]): Promise<WebSocket[]> {
  const out = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const device = devices?.[i] ?? `pres-${randomUUID().slice(0, 8)}`;
      const ws = new WebSocket(`${node.url.replace(/^http/, 'ws')}/ws?clientId=${A.clientId}&deviceId=${device}`, {
        headers: { origin: ORIGIN, 'user-agent': browserUa(500 + i), 'x-forwarded-for': visitorIp(9, i) },
      });
      ws.on('error', () => {}); // a killed node: the close that follows is enough
      return new Promise<WebSocket>((resolve, reject) => {
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`/ws upgrade refused: ${res.statusCode}`)));
      });
    }),
  );
  sdkSockets.push(...out);
  return out;
}

const closeSocket = (ws: WebSocket) =>
  new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close(1000);
  });

beforeAll(async () => {
  testCluster = await startTestCluster({
    folder: 'lp-live-cluster-',
    spare: 2,
    env: { TRUST_PROXY: 'true', LOG_LEVEL: 'warn' },
  });
  ({ cluster, redis, db } = testCluster);
  spare = testCluster.spare;
  A = await createProject(db.url, 'Live A');
  B = await createProject(db.url, 'Live B');
  const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
  try {
    const md = createMetadata(meta.db);
    const client = async (p: Project, type: 'read' | 'write') => ({
      projectId: p.projectId,
      ...(await md.createClient({ projectId: p.projectId, type, origins: [] })),
    });
    readA = await client(A, 'read');
    readB = await client(B, 'read');
    writeA = await client(A, 'write');
    disabledA = await client(A, 'read');
    await md.disableClient(disabledA.clientId);
  } finally {
    await meta.close();
  }
});

afterAll(async () => {
  for (const d of open) d.close();
  for (const ws of sdkSockets) ws.terminate();
  await Promise.all(extra.map((n) => n.stop('SIGKILL')));
  await testCluster?.close();
});

describe('live channel on real processes (2 ingest nodes + worker,web)', () => {
  it('a dashboard on ingest node 2 (and on the web node) gets, exactly once, the ticks of events sent to ingest node 1 over /track and /ws', async () => {
    const on2 = await dashboard(node2(), readA);
    const onWeb = await dashboard(web(), readA);
    const t = `t-${run}`;
    const w = `w-${run}`;
    const both = `both-${run}`;

    for (let i = 0; i < 3; i++) expect((await track(node1().url, A, { ua: browserUa(i), ip: visitorIp(1, i) }, t)).status).toBe(200);
    const sdk = new ResendingSocket({
      nodeUrls: () => [node1().url],
      project: A,
      visitor: { ua: browserUa(50), ip: visitorIp(1, 50) },
      name: w,
      label: `w${run}`,
    });
    try {
      await sdk.connect();
      sdk.sendBatch(4);
      sdk.sendBatch(1);
      await sdk.settled(WAIT);
      expect(sdk.stats.rejected + sdk.stats.droppedOther.length).toBe(0);
    } finally {
      sdk.close();
    }
    // The same project's events on both ingest nodes add up on every dashboard.
    for (let i = 0; i < 5; i++) {
      const node = i % 2 === 0 ? node1() : node2();
      expect((await track(node.url, A, { ua: browserUa(60 + i), ip: visitorIp(1, 60 + i) }, both)).status).toBe(200);
    }

    for (const d of [on2, onWeb]) {
      await waitFor(
        async () => shown(d, t) === 3 && shown(d, w) === 5 && shown(d, both) === 5,
        WAIT,
        () => `counts ${JSON.stringify({ t: shown(d, t), w: shown(d, w), both: shown(d, both) })}`,
        20,
      );
    }
    await sleep(500); // a tick delivered twice would show now
    for (const d of [on2, onWeb]) {
      expect({ t: shown(d, t), w: shown(d, w), both: shown(d, both) }).toEqual({ t: 3, w: 5, both: 5 });
      expect(d.ticks.every((x) => x.projectId === A.projectId)).toBe(true);
      // /track and /ws events sent to node 1 came in node 1's ticks, through Redis.
      expect(d.ticks.filter((x) => t in x.events || w in x.events).every((x) => fromProcess(x, node1()))).toBe(true);
      expect(new Set(d.ticks.filter((x) => both in x.events).map((x) => x.node)).size).toBe(2);
      // The feed sample (the 10 most recent events of a tick) carries them too.
      expect(d.ticks.flatMap((x) => x.sample).find((s) => s.name === t)).toMatchObject({ path: '/page', browser: 'Chrome' });
    }
  });

  it('rooms isolate projects, on every node', async () => {
    const a2 = await dashboard(node2(), readA);
    const b1 = await dashboard(node1(), readB);
    const b2 = await dashboard(node2(), readB);
    const bWeb = await dashboard(web(), readB);
    const forA = `only-a-${run}`;
    const forB = `only-b-${run}`;
    expect((await track(node1().url, A, { ua: browserUa(70), ip: visitorIp(3, 1) }, forA)).status).toBe(200);
    expect((await track(node2().url, B, { ua: browserUa(71), ip: visitorIp(3, 2) }, forB)).status).toBe(200);
    await a2.tick((x) => forA in x.events, WAIT);
    await Promise.all([b1, b2, bWeb].map((d) => d.tick((x) => forB in x.events, WAIT)));
    await sleep(500);
    for (const d of [b1, b2, bWeb]) {
      expect(d.ticks.every((x) => x.projectId === B.projectId && !(forA in x.events))).toBe(true);
      expect(shown(d, forB)).toBe(1);
    }
    expect(a2.ticks.every((x) => x.projectId === A.projectId && !(forB in x.events))).toBe(true);
    // A dashboard cannot subscribe itself to another project's room.
    const answer = await b2.socket.timeout(WAIT).emitWithAck('subscribe', { projectId: A.projectId });
    expect(answer).toMatchObject({ ok: false, code: 'forbidden' });
  });

  it('presence counts visitors (devices) over the nodes; a SIGTERMed node drops out at once, a SIGKILLed one after the TTL', async () => {
    const ds = await Promise.all([node1(), node2(), web()].map((n) => dashboard(n, readA)));
    const online = (n: number, timeoutMs = WAIT) => Promise.all(ds.map((d) => d.online(n, timeoutMs)));
    await online(0);

    const on1 = await openSdkSockets(node1(), 2);
    await openSdkSockets(node2(), 3);
    await online(5);
    await closeSocket(on1[0]!);
    await online(4);

    // Two more ingest nodes: one to drain, one to kill.
    const [toTerm, toKill] = await Promise.all(
      spare.map((port, i) => startNode(`ingest-${3 + i}`, { ...cluster.env, ROLE: 'ingest', PORT: String(port), TRUST_PROXY: 'true', LOG_LEVEL: 'warn' })),
    );
    extra.push(toTerm!, toKill!);
    await openSdkSockets(toTerm!, 3);
    // Two tabs of one browser on the node to kill, and a third tab of it on node 1: one visitor.
    await openSdkSockets(toKill!, 4, [`tabs-${run}`, `tabs-${run}`, `k2-${run}`, `k3-${run}`]);
    await online(10);
    await openSdkSockets(node1(), 1, [`tabs-${run}`]);
    for (const d of ds)
      await waitFor(
        async () => d.presence.at(-1)?.sockets === 12,
        WAIT,
        () => `sockets=12 (${JSON.stringify(d.presence.at(-1))})`,
      );
    await online(10);
    // HTTP-only visitors count as active (they sent events within 5 minutes), not as online.
    for (const d of ds) expect(d.presence.at(-1)?.active).toBeGreaterThan(0);

    // SIGTERM: the node drains, closes its SDK sockets (1012) and reports 0 as it leaves. Waiting
    // less than the TTL is what tells this apart from its report merely expiring. An event it
    // acknowledged just before is still in its pending tick: that tick must go out, not vanish.
    const last = `last-${run}`;
    expect((await track(toTerm!.url, A, { ua: browserUa(90), ip: visitorIp(5, 1) }, last)).status).toBe(200);
    const termAt = Date.now();
    expect(await toTerm!.stop('SIGTERM')).toBe(0);
    await online(7, PRESENCE_TTL_MS - 4000);
    const termMs = Date.now() - termAt;
    await Promise.all(ds.map((d) => d.tick((x) => last in x.events, WAIT)));

    // SIGKILL: no goodbye; its report stops counting after the TTL, and the surviving nodes
    // notice at their next heartbeat.
    const killAt = Date.now();
    await toKill!.stop('SIGKILL');
    await online(5, PRESENCE_TTL_MS + 10_000); // node 1's tab of the shared browser still counts it
    console.log(`[live] presence on every node's dashboards: SIGTERMed node gone after ${termMs} ms, SIGKILLed node after ${Date.now() - killAt} ms`);

    for (const ws of sdkSockets) await closeSocket(ws);
    await online(0);
  });

  it('refuses a bad handshake with connect_error and a stable code, on ingest and web nodes', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['wrong secret', { ...readA, clientSecret: 'sec_wrong' }, 'bad_secret'],
      ['unknown client', { ...readA, clientId: randomUUID() }, 'unknown_client'],
      ['write client', writeA, 'forbidden'],
      ["another project's reader", { ...readB, projectId: A.projectId }, 'forbidden'],
      ['disabled client', disabledA, 'client_disabled'],
      ['missing secret', { clientId: readA.clientId, projectId: A.projectId }, 'invalid_body'],
      ['no auth', undefined, 'invalid_body'],
    ];
    for (const node of [node2(), web()]) {
      for (const [what, auth, code] of cases) {
        await expect(connectDashboard(node.url, auth), `${what} on ${node.name}`).rejects.toMatchObject({ code, message: expect.any(String) });
      }
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      expect(metrics).toMatch(/livepanel_live_refused_total\{code="bad_secret"\} 1\b/);
    }
  });

  it('cross-node ticks resume after a node loses its adapter connections; its own dashboards never stop', async () => {
    const on1 = await dashboard(node1(), readA);
    const on2 = await dashboard(node2(), readA);
    // Cut node 2's adapter connections (only its own, by client name) as a Redis blip would.
    const tag = `-${os.hostname()}-${node2().child.pid}-`.replace(/\s/g, '_');
    const list = String(await redis.client.call('CLIENT', 'LIST')).split('\n');
    const ids = list.filter((l) => /\bname=livepanel-live-(pub|sub)-/.test(l) && l.includes(tag)).map((l) => /\bid=(\d+)/.exec(l)![1]!);
    expect(ids).toHaveLength(2);
    for (const id of ids) await redis.client.call('CLIENT', 'KILL', 'ID', id);

    const during = `blip-${run}`;
    expect((await track(node2().url, A, { ua: browserUa(80), ip: visitorIp(4, 1) }, during)).status).toBe(200);
    await on2.tick((x) => during in x.events, WAIT);
    // ioredis reconnects and resubscribes; then node 2's ticks reach node 1 again, and node 1's node 2.
    let i = 0;
    await waitFor(
      async () => {
        await track(node2().url, A, { ua: browserUa(81), ip: visitorIp(4, 2) }, `after-${run}-${i++}`);
        return on1.ticks.some((x) => fromProcess(x, node2()) && Object.keys(x.events).some((n) => n.startsWith(`after-${run}-`)));
      },
      WAIT,
      () => 'node 2 never reached node 1 again',
      100,
    );
    const back = `back-${run}`;
    expect((await track(node1().url, A, { ua: browserUa(82), ip: visitorIp(4, 3) }, back)).status).toBe(200);
    await on2.tick((x) => back in x.events, WAIT);
  });
});

describe('revocations across processes', () => {
  /** Signs a user in on the web node (the API lives there) and answers a caller for its dashboard API (once per run: the first user is made here). */
  let signing: ReturnType<typeof signIn> | undefined;
  const signedIn = () => {
    signing ??= signIn();
    return signing;
  };
  async function signIn() {
    const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
    try {
      // No user yet: the first one owns the organisation the harness's projects were created in.
      const passwordHash = await hashPassword('cluster owner password');
      await createAccounts(meta.db).createFirstUser({ email: `owner-${run}@example.com`, name: 'Owner', passwordHash, orgName: 'unused' });
    } finally {
      await meta.close();
    }
    const res = await fetch(`${web().url}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: web().url },
      body: JSON.stringify({ email: `owner-${run}@example.com`, password: 'cluster owner password' }),
    });
    expect(res.status).toBe(200);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const r = await fetch(`${web().url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', origin: web().url, cookie, 'x-livepanel-csrf': csrfToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(r.status, await r.clone().text()).toBeLessThan(300);
      return (await r.json()) as T;
    };
  }

  const disconnected = (d: Dashboard) =>
    new Promise<string>((resolve) => {
      if (!d.socket.connected) resolve('already');
      d.socket.once('disconnect', (reason) => resolve(reason));
    });

  it('a share revoked and a client rotated on the web node disconnect their sockets on the ingest nodes', async () => {
    const api = await signedIn();
    const share = await api<{ share: { id: string }; token: string }>('POST', `/api/v1/projects/${A.projectId}/shares`, {
      name: 'TV',
      target: { kind: 'realtime' },
    });
    const tv = await connectDashboard(node2().url, { share: share.token });
    open.push(tv);
    const reader = await api<{ clientId: string; clientSecret: string }>('POST', `/api/v1/projects/${A.projectId}/clients`, { name: 'script', type: 'read' });
    const script = await dashboard(node1(), { ...reader, projectId: A.projectId });

    const tvGone = disconnected(tv);
    await api('DELETE', `/api/v1/projects/${A.projectId}/shares/${share.share.id}`);
    expect(await tvGone).toBe('io server disconnect');
    await expect(connectDashboard(node2().url, { share: share.token })).rejects.toMatchObject({ code: 'expired' });

    const scriptGone = disconnected(script);
    await api('POST', `/api/v1/projects/${A.projectId}/clients/${reader.clientId}/rotate`);
    expect(await scriptGone).toBe('io server disconnect');
    await expect(connectDashboard(node1().url, { ...reader, projectId: A.projectId })).rejects.toMatchObject({ code: 'bad_secret' });
  });

  it('a filtered share on one node gets the other nodes’ ticks of its own tiles only, and no presence', async () => {
    const api = await signedIn();
    const share = await api<{ token: string }>('POST', `/api/v1/projects/${A.projectId}/shares`, {
      name: 'Pricing TV',
      target: { kind: 'realtime' },
      filter: [['is', 'event:path', ['/pricing']]],
    });
    const pages = boardRequests(REALTIME_LAYOUT, 'UTC', Date.now()).find((t) => t.id === 'pages')!;
    const tv = await dashboard(node2(), { share: share.token } as never);
    const filtered = await watchTiles(tv, A.projectId, [pages]);
    const whole = await watchTiles(await dashboard(node2(), readA), A.projectId, [pages]);
    await Promise.all([filtered.backfilled(60_000), whole.backfilled(60_000)]);
    const before = (filtered.value('pages') as Record<string, number> | undefined)?.['/pricing'] ?? 0;
    // Events reach node 1 only: node 2's screens get them through the adapter.
    for (const [i, page] of ['/pricing', '/docs', '/pricing', '/about'].entries()) {
      expect((await track(node1().url, A, { ua: browserUa(80 + i), ip: visitorIp(4, i) }, 'screen_view', { __path: `${ORIGIN}${page}` })).status).toBe(200);
    }
    await waitFor(
      async () => (filtered.value('pages') as Record<string, number> | undefined)?.['/pricing'] === before + 2,
      WAIT,
      () => `the filtered share's /pricing views (${JSON.stringify(filtered.value('pages'))})`,
    );
    await waitFor(
      async () => ((whole.value('pages') as Record<string, number> | undefined)?.['/about'] ?? 0) > 0,
      WAIT,
      () => 'the read client’s /about',
    );
    expect(Object.keys(filtered.value('pages') as object)).toEqual(['/pricing']);
    const mine = filtered.accepted.get(pages.id)!.key;
    expect(tv.ticks.length).toBeGreaterThan(0);
    for (const t of tv.ticks) {
      expect(Object.keys(t.tiles ?? {})).toEqual([mine]);
      expect(t.sample).toEqual([]);
      expect(t.events).toEqual({});
    }
    expect(tv.presence).toEqual([]);
  });
});

describe('live channel in process', () => {
  it('closing a node quits the adapter’s Redis connections', async () => {
    const clients = testClients();
    const client = await redis.connect();
    const id = `closing-${run}`;
    const named = async () =>
      String(await redis.client.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((l) => l.includes('livepanel-live-') && l.includes(id));
    const node = await startLiveNode({
      redis: { client, prefix: redis.prefix },
      presence: createRedisPresence({ redis: client, prefix: redis.prefix, ttlMs: 1500 }),
      nodeId: id,
      gate: clients.gate,
    });
    expect(await named()).toHaveLength(2); // pub + sub
    node.live.record('p', eventsBatch('p', 1)); // a pending tick must not keep anything open
    await node.stop();
    await waitFor(
      async () => (await named()).length === 0,
      WAIT,
      () => 'adapter connections still open',
      50,
    );
  });
});
