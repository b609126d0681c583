/**
 * Issue #3 — the distributed shape across processes: two `ingest` nodes and one `worker,web`
 * node (the only one that opens chDB), all real child processes on the shared Redis (own key
 * prefix) and PostgreSQL (own database).
 *
 * 1. Traffic on both ingest nodes at once: browser `/track` visitors that alternate nodes on
 *    every event (same agent + address, so the same device), and `/ws` SDK clients sending
 *    batches with client-made ids. Mid-stream one ingest node is SIGKILLed while its sockets
 *    have batches in flight; those clients reconnect to the other node and resend every batch
 *    not yet acknowledged, with the same ids.
 * 2. SIGTERM drain of a third ingest node: its sockets are closed with 1012 only after their
 *    in-flight batches were answered.
 * 3. Once the queue is drained and the sessions timed out, the chDB folder is read directly:
 *    every acknowledged event is stored exactly once (resent-but-already-stored ones are not
 *    doubled), each device that switched nodes has ONE session id, and each session has one
 *    `sessions` row and one `session_end` event although both ingest nodes saw it.
 *
 * Guards against: acknowledging a resend as a "duplicate" of an event the killed node had
 * claimed but never queued (an acked event lost); doubling on resend; a session split (or
 * closed twice) because two nodes saw it.
 *
 * The three tests share one cluster and run in order; the last one checks the first two.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, type NodeProcess, startNode } from '../../server/cluster/local-cluster.ts';
import { openEventsQueue } from '../../server/engines/queue.bullmq.ts';
import type { TestDatabase } from '../support/postgres.ts';
import type { TestRedis } from '../support/redis.ts';
import {
  browserUa,
  countByName,
  createProject,
  openEventStore,
  type Project,
  ResendingSocket,
  sleep,
  startTestCluster,
  type TestCluster,
  track,
  visitorIp,
  waitFor,
} from './harness.ts';

// Long enough that no pause of a loaded machine between a visitor's events (a kill, a slow
// request) ends its session: a split here must mean two nodes disagreed, not a slow CI.
const SESSION_TIMEOUT_MS = 20_000;
const TRACK_VISITORS = 6;
const TRACK_EVENTS_EACH = 8;
const WS_CLIENTS_PER_NODE = 3;
const WS_BATCHES_AFTER_KILL = 8;
const WS_BATCH_SIZE = 25;
const DRAIN_CLIENTS = 3;

let redis: TestRedis;
let db: TestDatabase;
let dataDir: string;
let testCluster: TestCluster;
let cluster: LocalCluster;
let project: Project;
let extraPort: number;

/** What the first two tests sent and had acknowledged, checked by the third. */
const sent = {
  trackAcked: 0,
  trackSessions: new Map<string, Set<string>>(), // deviceId → session ids answered by /track
  trackDevices: new Set<string>(),
  wsAcked: new Set<string>(),
  wsSent: new Set<string>(),
  wsResentBatches: 0,
  drainAcked: new Set<string>(),
};

beforeAll(async () => {
  testCluster = await startTestCluster({
    folder: 'lp-cluster-',
    spare: 1,
    env: {
      TRUST_PROXY: 'true',
      // The drain test's burst (1,800 events per visitor at once) is past the per-visitor rate
      // limit; limits have their own tests (tests/cluster/hardening.int.test.ts).
      RATE_LIMITS: 'off',
      FLUSH_INTERVAL_MS: '200',
      SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      SESSION_GRACE_MS: '1500',
      SESSION_REAP_INTERVAL_MS: '300',
      LOG_LEVEL: 'warn',
    },
  });
  ({ cluster, redis, db, dataDir } = testCluster);
  extraPort = testCluster.spare[0]!;
  project = await createProject(db.url);
});

afterAll(async () => {
  await testCluster?.close();
});

describe('two ingest nodes and one worker,web node', () => {
  it('survives an ingest node SIGKILLed mid-stream: WS clients resend unacknowledged batches to the other node', async () => {
    const [node1, node2] = cluster.ingest as [NodeProcess, NodeProcess];
    const urls = () => [node1.url, node2.url];

    // WS clients: half start on node 1 (the one that will be killed), half on node 2.
    const clients: ResendingSocket[] = [];
    for (let i = 0; i < WS_CLIENTS_PER_NODE * 2; i++) {
      const c = new ResendingSocket({
        nodeUrls: urls,
        project,
        visitor: { ua: browserUa(100 + i), ip: visitorIp(2, i) },
        name: 'ws_click',
        label: `w${i}`,
        startNode: i % 2,
        // Like the SDK: its own device id and heartbeats, so the session stays open while the
        // socket does — also while a killed node's claimed ids lapse and their resends wait.
        deviceId: `sdk-device-${i}`,
        heartbeatMs: 500,
      });
      clients.push(c);
    }
    await Promise.all(clients.map((c) => c.connect()));

    let killedAt = -1;
    let inFlightAtKill = 0;
    // Each socket keeps several batches in flight until the kill, then sends a few more.
    const pump = async (c: ResendingSocket) => {
      let after = 0;
      while (after < WS_BATCHES_AFTER_KILL) {
        await c.window(6);
        c.sendBatch(WS_BATCH_SIZE);
        if (killedAt > 0) after++;
        await sleep(20);
      }
    };
    const pumping = Promise.all(clients.map(pump));

    // /track visitors alternating nodes on every event, concurrently with the WS stream.
    const trackRound = async (v: number, from: number, to: number) => {
      const visitor = { ua: browserUa(v), ip: visitorIp(1, v) };
      for (let e = from; e < to; e++) {
        const order = e % 2 === 0 ? [node1, node2] : [node2, node1];
        let answer: Awaited<ReturnType<typeof track>> | undefined;
        for (const node of order) {
          // A node that is gone refuses the connection: nothing reached a server, try the other.
          answer = await track(node.url, project, visitor, 'page_hit', { step: e }).catch(() => undefined);
          if (answer) break;
        }
        expect(answer?.status, `visitor ${v} event ${e}`).toBe(200);
        const { deviceId, sessionId } = answer!.body as { deviceId: string; sessionId: string };
        sent.trackAcked++;
        sent.trackDevices.add(deviceId);
        const s = sent.trackSessions.get(deviceId) ?? new Set<string>();
        sent.trackSessions.set(deviceId, s);
        s.add(sessionId);
        await sleep(40);
      }
    };
    const half = TRACK_EVENTS_EACH / 2;
    await Promise.all(Array.from({ length: TRACK_VISITORS }, (_, v) => trackRound(v, 0, half)));

    // Kill node 1 while its sockets have batches in flight.
    const onNode1 = clients.filter((_, i) => i % 2 === 0);
    await waitFor(
      async () => onNode1.every((c) => c.pending >= 2) && clients.every((c) => c.acked.size > 0),
      60_000,
      () => 'node-1 sockets never had batches in flight',
    );
    inFlightAtKill = onNode1.reduce((n, c) => n + c.pending, 0);
    node1.child.kill('SIGKILL');
    killedAt = Date.now();
    await new Promise((r) => node1.child.once('exit', r));

    // The visitors keep going; every other event tries the dead node first.
    await Promise.all(Array.from({ length: TRACK_VISITORS }, (_, v) => trackRound(v, half, TRACK_EVENTS_EACH)));
    await pumping;
    await Promise.all(clients.map((c) => c.settled(90_000)));

    for (const c of clients) {
      expect(c.stats.rejected).toBe(0);
      expect(c.stats.droppedOther).toEqual([]);
      expect(c.acked).toEqual(c.sent); // every batch ended up acknowledged
      for (const id of c.acked) sent.wsAcked.add(id);
      for (const id of c.sent) sent.wsSent.add(id);
    }
    // The node-1 clients lost their socket (1006) and reconnected to node 2.
    for (const c of onNode1) {
      expect(c.stats.connects).toBeGreaterThanOrEqual(2);
      expect(c.stats.closeCodes).toContain(1006);
    }
    expect(killedAt).toBeGreaterThan(0);
    expect(inFlightAtKill).toBeGreaterThanOrEqual(onNode1.length * 2);
    // An ack lost in transit: batches stored through node 1 are sent again, now to node 2.
    const replayed = onNode1[0]!;
    const dupsBefore = replayed.stats.droppedDuplicates;
    for (const no of [0, 1, 2]) replayed.replay(no);
    await replayed.settled(60_000);
    expect(replayed.stats.droppedDuplicates - dupsBefore).toBe(3 * WS_BATCH_SIZE);
    for (const c of clients) c.close();
    const sum = (f: (c: ResendingSocket) => number) => onNode1.reduce((n, c) => n + f(c), 0);
    console.info(
      `kill: ${inFlightAtKill} batches in flight on node 1; its clients then had ${sum((c) => c.stats.droppedDuplicates)} resent events answered as duplicates, ` +
        `${sum((c) => c.stats.errorFrames.length)} retries asked for (${[...new Set(onNode1.flatMap((c) => c.stats.errorFrames))].join(', ') || 'none'})`,
    );
    expect(sent.wsAcked.size).toBe(sent.wsSent.size);
    expect(sent.trackAcked).toBe(TRACK_VISITORS * TRACK_EVENTS_EACH);
    // Every /track visitor kept one device and one session across both nodes.
    expect(sent.trackDevices.size).toBe(TRACK_VISITORS);
    for (const [device, sessions] of sent.trackSessions) expect([...sessions], device).toHaveLength(1);
  }, 300_000);

  it('drains an ingest node on SIGTERM: sockets close with 1012 after their in-flight batches are answered', async () => {
    const node2 = cluster.ingest[1]!;
    const node3 = await startNode('ingest-3', { ...cluster.env, ROLE: 'ingest', PORT: String(extraPort) });
    const urls = () => [node3.url, node2.url];
    const clients = Array.from(
      { length: DRAIN_CLIENTS },
      (_, i) => new ResendingSocket({ nodeUrls: urls, project, visitor: { ua: browserUa(200 + i), ip: visitorIp(3, i) }, name: 'ws_drain', label: `d${i}` }),
    );
    await Promise.all(clients.map((c) => c.connect()));
    // What each socket saw on node 3, in order: answers, then its close.
    const timeline = clients.map(() => [] as string[]);
    clients.forEach((c, i) => {
      c.onAck = (no) => timeline[i]!.push(`ack ${no}`);
      c.onClose = (code) => timeline[i]!.push(`close ${code}`);
    });
    const signalled = { at: 0, acksAfter: 0 };
    clients.forEach((c) => {
      const prev = c.onAck!;
      c.onAck = (no) => {
        prev(no);
        if (signalled.at) signalled.acksAfter++;
      };
    });
    // A burst of big batches; SIGTERM as soon as node 3 has answered one, while the rest are in flight.
    for (const c of clients) for (let b = 0; b < 6; b++) c.sendBatch(300);
    await waitFor(
      async () => clients.some((c) => c.acked.size > 0),
      60_000,
      () => 'no ack from node 3',
      5,
    );
    const pendingAtSignal = clients.reduce((n, c) => n + c.pending, 0);
    signalled.at = Date.now();
    const exited = node3.stop('SIGTERM');
    expect(await exited).toBe(0);

    await Promise.all(clients.map((c) => c.settled(90_000)));
    for (const [i, c] of clients.entries()) {
      expect(c.stats.closeCodes[0], `client ${i} timeline ${timeline[i]!.join(', ')}`).toBe(1012);
      expect(c.stats.unansweredAtClose[0], `client ${i}: batches unanswered when node 3 closed the socket`).toBe(0);
      // A batch the node read after the drain began is refused (the client resends it elsewhere);
      // everything acknowledged is checked against storage in the next test.
      for (const id of c.acked) expect(c.sent.has(id)).toBe(true);
      for (const id of c.acked) sent.drainAcked.add(id);
    }
    // Whether acks still arrived after the signal depends on timing on a loaded machine: logged,
    // not asserted (the property is above: nothing unanswered at the 1012, acked == stored later).
    console.log(`drain: ${pendingAtSignal} batches pending at SIGTERM, ${signalled.acksAfter} acks after it`);
    for (const c of clients) c.close();
  }, 300_000);

  it('stores every acknowledged event exactly once and closes each session once across nodes', async () => {
    const web = cluster.worker.url;
    const queue = openEventsQueue(await redis.connect(), redis.prefix);
    const all = { ws_click: sent.wsAcked.size, ws_drain: sent.drainAcked.size, page_hit: sent.trackAcked };
    expect(sent.wsAcked.size).toBeGreaterThan(0);
    // Drained: the stored counts reach the acknowledged counts and nothing is left queued.
    let seen = {};
    await waitFor(
      async () => {
        const counts: Record<string, number> = {};
        for (const name of Object.keys(all)) counts[name] = await countByName(web, project, name);
        const jobs = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
        seen = { counts, jobs };
        return Object.entries(all).every(([name, n]) => counts[name]! >= n) && !jobs.waiting && !jobs.active && !jobs.delayed && !jobs.prioritized;
      },
      90_000,
      () => '',
    ).catch(() => console.warn(`stored counts never reached ${JSON.stringify(all)}; last seen ${JSON.stringify(seen)}; checking the rows`));
    // Sessions: every device's session times out and is closed by the reaper.
    const devices = TRACK_VISITORS + WS_CLIENTS_PER_NODE * 2 + DRAIN_CLIENTS;
    await waitFor(
      async () => (await countByName(web, project, 'session_end')) >= devices && (await redis.client.zcard(`${redis.prefix}session-expiry`)) === 0,
      SESSION_TIMEOUT_MS + 90_000,
      () => 'sessions never all closed',
    );
    await sleep(1000); // one more reaper round and flush: a second close would land now
    await queue.close();
    await cluster.stop();

    const store = await openEventStore(dataDir);
    try {
      const q = store.rows.bind(store);
      // Acknowledged client event ids, each stored exactly once; nothing stored that was never sent.
      for (const [name, acked, sentIds] of [
        ['ws_click', sent.wsAcked, sent.wsSent],
        ['ws_drain', sent.drainAcked, sent.drainAcked],
      ] as const) {
        const stored = await q<{ eid: string; n: number }>(
          `SELECT properties['eid'] AS eid, count() AS n FROM events WHERE name = {name:String} GROUP BY eid`,
          { name },
        );
        const doubled = stored.filter((r) => r.n !== 1);
        expect(doubled, `${name} stored more than once`).toEqual([]);
        const storedIds = new Set(stored.map((r) => r.eid));
        const lost = [...acked].filter((id) => !storedIds.has(id));
        expect(lost.length, `${name}: acknowledged but not stored, e.g. ${lost.slice(0, 5).join(', ')}`).toBe(0);
        expect([...storedIds].filter((id) => !sentIds.has(id))).toEqual([]);
        expect(stored.length).toBe(acked.size);
      }
      const [byName] = await q<{ ws: number; drain: number; hits: number; rows: number; ids: number }>(
        `SELECT countIf(name = 'ws_click') AS ws, countIf(name = 'ws_drain') AS drain, countIf(name = 'page_hit') AS hits, count() AS rows, uniqExact(id) AS ids FROM events`,
      );
      expect(byName).toMatchObject({ ws: sent.wsAcked.size, drain: sent.drainAcked.size, hits: sent.trackAcked });
      expect(byName!.ids, 'a stored row was written twice').toBe(byName!.rows);

      // One session per device, across every event it sent to either node.
      const perDevice = await q<{ device_id: string; kind: string; sessions: number; hits: number; starts: number; ends: number }>(
        `SELECT device_id, anyIf(name, name NOT LIKE 'session_%') AS kind, uniqExact(session_id) AS sessions, countIf(name IN ('page_hit', 'ws_click', 'ws_drain')) AS hits,
                countIf(name = 'session_start') AS starts, countIf(name = 'session_end') AS ends
           FROM events GROUP BY device_id ORDER BY device_id`,
      );
      expect(perDevice).toHaveLength(devices);
      const split = perDevice.filter((d) => d.sessions !== 1 || d.starts !== 1 || d.ends !== 1);
      expect(split, `devices with other than one session/start/end: ${JSON.stringify(split)}`).toEqual([]);
      for (const device of sent.trackDevices) {
        expect(perDevice.find((d) => d.device_id === device)?.hits).toBe(TRACK_EVENTS_EACH);
      }

      // Each session closed exactly once: one raw `sessions` row (no FINAL) and one session_end.
      const sessions = await q<{ id: string; device_id: string; rows: number; event_count: number }>(
        `SELECT id, any(device_id) AS device_id, count() AS rows, max(event_count) AS event_count FROM sessions GROUP BY id`,
      );
      expect(sessions).toHaveLength(devices);
      for (const s of sessions) expect(s.rows, s.id).toBe(1);
      const [ends] = await q<{ n: number; sessions: number }>(`SELECT count() AS n, uniqExact(session_id) AS sessions FROM events WHERE name = 'session_end'`);
      expect(ends).toEqual({ n: devices, sessions: devices });
      // A /track visitor's session counted every event it sent through both nodes.
      for (const [device, ids] of sent.trackSessions) {
        const s = sessions.find((x) => x.id === [...ids][0]);
        expect(s?.device_id).toBe(device);
        expect(s?.event_count).toBe(TRACK_EVENTS_EACH);
      }
    } finally {
      await store.ch.close();
    }
  }, 300_000);
});
