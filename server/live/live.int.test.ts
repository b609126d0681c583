/**
 * The live channel on one node: a real uWS app with socket.io attached, real socket.io-client
 * dashboards, the real authenticator and the in-process Presence engine (the embedded shape).
 * Guards against: a dashboard of one project seeing another's traffic; a refused handshake
 * without a code a dashboard can act on; ticks that arrive late; a close() that leaves timers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryPresence } from '../engines/presence.memory.ts';
import { connectDashboard, type Dashboard, eventsBatch, type LiveNode, startLiveNode, testClients } from './live.fixtures.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const clients = testClients();
const p1 = clients.add('proj-one', 'read');
const p2 = clients.add('proj-two', 'root');
let node: LiveNode;
const open: Dashboard[] = [];
const dashboard = async (auth: unknown, transports?: Array<'websocket' | 'polling'>) => {
  const d = await connectDashboard(node.url, auth, transports);
  open.push(d);
  return d;
};

beforeAll(async () => {
  node = await startLiveNode({ presence: createMemoryPresence({ ttlMs: 10_000 }), nodeId: 'solo', gate: clients.gate });
});
afterAll(async () => {
  for (const d of open) d.close();
  await node?.stop();
});

describe('live channel, one node', () => {
  it('refuses a handshake with a stable code', async () => {
    const write = clients.add('proj-one', 'write');
    const cases: Array<[unknown, string]> = [
      [{ ...p1, clientSecret: 'wrong' }, 'bad_secret'],
      [{ ...p1, clientId: '00000000-0000-4000-8000-000000000000' }, 'unknown_client'],
      [write, 'forbidden'], // a write client cannot read
      [{ ...p1, projectId: 'proj-two' }, 'forbidden'], // another project's client
      [{ clientId: p1.clientId }, 'invalid_body'],
      [undefined, 'invalid_body'],
    ];
    for (const [auth, code] of cases) {
      await expect(connectDashboard(node.url, auth), JSON.stringify(auth)).rejects.toMatchObject({ code, message: expect.any(String) });
    }
    expect(await node.metrics.registry.getSingleMetricAsString('livepanel_live_refused_total')).toContain('code="bad_secret"} 1');
  });

  it('pushes each record() to the dashboard as a tick (latency is measured by the benchmark, not asserted)', async () => {
    const d = await dashboard(p1);
    for (let i = 0; i < 5; i++) {
      node.live.record('proj-one', eventsBatch('proj-one', 3, `visit-${i}`));
      const t = await d.tick((x) => `visit-${i}` in x.events, 5000);
      expect(t).toMatchObject({ projectId: 'proj-one', node: 'solo', events: { [`visit-${i}`]: 3 }, countries: { FR: 3 } });
      await sleep(37); // land at different points of the tick period
    }
  });

  it('sends a heartbeat to an idle dashboard, so a screen can tell a silent connection from a quiet project', async () => {
    const d = await dashboard(p2); // no traffic on proj-two
    const beats: number[] = [];
    d.socket.on('heartbeat', (b) => beats.push(b.at));
    const end = Date.now() + 15_000;
    while (beats.length < 2 && Date.now() < end) await sleep(50);
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[1]!).toBeGreaterThan(beats[0]!);
  });

  it('isolates projects: a dashboard gets only its own project’s ticks', async () => {
    const one = await dashboard(p1);
    const two = await dashboard(p2);
    node.live.record('proj-one', eventsBatch('proj-one', 2, 'only-one'));
    await one.tick((t) => 'only-one' in t.events);
    node.live.record('proj-two', eventsBatch('proj-two', 4, 'only-two'));
    const t2 = await two.tick((t) => 'only-two' in t.events);
    expect(t2.events).toEqual({ 'only-two': 4 });
    await sleep(250); // a couple of tick periods more
    expect(two.ticks.every((t) => t.projectId === 'proj-two')).toBe(true);
    expect(one.ticks.every((t) => t.projectId === 'proj-one')).toBe(true);
    expect(one.ticks.some((t) => 'only-two' in t.events)).toBe(false);
  });

  it('subscribe/unsubscribe: own project only; no ticks while unsubscribed', async () => {
    const d = await dashboard(p1);
    expect(await d.socket.emitWithAck('subscribe', { projectId: 'proj-two' })).toMatchObject({ ok: false, code: 'forbidden' });
    expect(await d.socket.emitWithAck('subscribe', { nope: 1 } as never)).toMatchObject({ ok: false, code: 'invalid_body' });
    expect(await d.socket.emitWithAck('unsubscribe', { projectId: 'proj-one' })).toEqual({ ok: true });
    node.live.record('proj-one', eventsBatch('proj-one', 1, 'while-away'));
    await sleep(300);
    expect(d.ticks.some((t) => 'while-away' in t.events)).toBe(false);
    expect(await d.socket.emitWithAck('subscribe', { projectId: 'proj-one' })).toEqual({ ok: true });
    node.live.record('proj-one', eventsBatch('proj-one', 1, 'back'));
    await d.tick((t) => 'back' in t.events);
  });

  it('pushes presence on join and whenever the total changes', async () => {
    node.live.socketsChanged('proj-two', 3);
    await sleep(200); // reported (changes coalesce for 100 ms)
    const d = await dashboard(p2);
    await d.online(3); // the snapshot on join
    node.live.socketsChanged('proj-two', 4);
    await d.online(4);
    node.live.socketsChanged('proj-two', 0);
    await d.online(0);
    const pushes = d.presence.map((p) => p.online);
    expect(pushes).toEqual([3, 4, 0]); // each change once, nothing repeated
    expect(d.presence.every((p) => p.projectId === 'proj-two')).toBe(true);
  });

  it('works over HTTP long-polling too (uWS serves both transports)', async () => {
    const d = await dashboard(p2, ['polling']);
    node.live.record('proj-two', eventsBatch('proj-two', 1, 'polled'));
    await d.tick((t) => 'polled' in t.events);
  });
});

describe('closing', () => {
  it('disconnects dashboards and leaves no timers behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const n = await startLiveNode({
      presence: createMemoryPresence(),
      nodeId: 'closing',
      gate: clients.gate,
      tickMs: 50,
      heartbeatMs: 100,
    });
    const d = await connectDashboard(n.url, p1);
    n.live.socketsChanged('proj-one', 2);
    n.live.record('proj-one', eventsBatch('proj-one', 1));
    await d.tick(() => true);
    expect(timers()).toBeGreaterThan(before); // tick, heartbeat, engine.io pings: the check below can fail
    const disconnected = new Promise<string>((r) => d.socket.once('disconnect', r));
    await n.stop();
    // Not 'io server disconnect': socket.io-client reconnects after a transport close, so a
    // dashboard behind a load balancer moves to another node when this one shuts down.
    expect(await disconnected).toBe('transport close');
    d.close();
    await sleep(50);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
