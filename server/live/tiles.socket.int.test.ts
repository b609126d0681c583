/**
 * Live tiles on the socket, one node (real uWS app + socket.io, real socket.io-client, a stub
 * store for backfills). Guards against: a hostile subscription crashing the node or being
 * answered without a stable code; a project's screens making a node aggregate without bound;
 * ticks counted before the watermark (they belong to the backfill); the backfill not asked
 * "up to" the watermark; presence counting tabs instead of devices; the latency histogram
 * missing from /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TileBucket } from '../../shared/live-tiles.ts';
import { createMemoryPresence } from '../engines/presence.memory.ts';
import { createMemoryVisitors } from '../engines/visitors.memory.ts';
import { connectDashboard, type Dashboard, eventsBatch, type LiveNode, startLiveNode, testClients, watchTiles } from './live.fixtures.ts';

const clients = testClients();
const reader = clients.add('proj-tiles', 'read');
let node: LiveNode;
const reads: Array<{ projectId: string; key: string; watermark: number }> = [];
const open: Dashboard[] = [];
const dashboard = async () => {
  const d = await connectDashboard(node.url, reader);
  open.push(d);
  return d;
};

beforeAll(async () => {
  node = await startLiveNode({
    presence: createMemoryPresence({ ttlMs: 10_000 }),
    visitors: createMemoryVisitors({ ttlMs: 10_000 }),
    nodeId: 'solo',
    gate: clients.gate,
    tickMs: 50,
    // The store's answer: 100 events before the watermark, whatever the tile.
    readTile: async (projectId, tile, watermark) => {
      reads.push({ projectId, key: tile.key, watermark });
      return tile.kind === 'top' ? [[watermark - 60_000, { '/old': 100 }]] : ([[watermark - 60_000, 100]] as TileBucket[]);
    },
    backfillTiming: { settleMs: 50, stableMs: 50 },
  });
});
afterAll(async () => {
  for (const d of open) d.close();
  await node?.stop();
});

describe('tiles on the live channel', () => {
  it('refuses hostile subscriptions with stable codes, and the node keeps serving', async () => {
    const d = await dashboard();
    const ask = (body: unknown) => d.socket.timeout(5000).emitWithAck('tiles:subscribe', body as never);
    const tile = (spec: unknown) => ({ projectId: reader.projectId, tiles: [{ id: 'a', spec }] });
    expect(await ask(null)).toMatchObject({ ok: false, code: 'invalid_body' });
    expect(await ask({ projectId: reader.projectId, tiles: 'x' })).toMatchObject({ ok: false, code: 'invalid_body' });
    expect(await ask(tile({ kind: 'nope' }))).toMatchObject({ ok: false, code: 'invalid_body' });
    expect(await ask(tile({ kind: 'total', metric: 'visitors', since: Date.now() }))).toMatchObject({ ok: false, code: 'invalid_body' });
    expect(await ask(tile({ kind: 'total', metric: 'events', since: Date.now(), filters: [['matches', 'event:path', ['(x+x+)+y']]] }))).toMatchObject({
      ok: false,
      code: 'invalid_body',
    });
    expect(
      await ask({
        projectId: reader.projectId,
        tiles: [
          { id: 'ok', spec: { kind: 'rate', metric: 'events', minutes: 5 } },
          { id: 'p', spec: { kind: 'top', metric: 'events', dimension: 'profile:props:plan', minutes: 5 } },
        ],
      }),
    ).toMatchObject({ ok: false, code: 'invalid_query', index: 1 });
    expect(await ask(tile({ kind: 'total', metric: 'events', since: Date.now() - 3 * 86_400_000 }))).toMatchObject({ ok: false, code: 'invalid_query' });
    expect(await ask({ projectId: 'proj-other', tiles: [{ id: 'a', spec: { kind: 'online' } }] })).toMatchObject({ ok: false, code: 'forbidden' });
    const many = Array.from({ length: 65 }, (_, i) => ({ id: `t${i}`, spec: { kind: 'rate', metric: 'events', minutes: 1 } }));
    expect(await ask({ projectId: reader.projectId, tiles: many })).toMatchObject({ ok: false, code: 'invalid_body' });
    expect(await ask(tile({ kind: 'online' }))).toMatchObject({ ok: true, tiles: [{ id: 'a' }] });
  });

  it("bounds the different tiles a project's screens make a node aggregate", async () => {
    const since = Date.now() - 1000;
    let refused: unknown;
    for (let s = 0; s < 5 && !refused; s++) {
      const d = await dashboard();
      const tiles = Array.from({ length: 60 }, (_, i) => ({ id: `t${i}`, spec: { kind: 'total', metric: 'events', since: since - (s * 60 + i) } }));
      const res = await d.socket.timeout(5000).emitWithAck('tiles:subscribe', { projectId: reader.projectId, tiles } as never);
      if (!res.ok) refused = res;
    }
    expect(refused).toMatchObject({ ok: false, code: 'overloaded' });
    for (const d of open.splice(1)) d.close(); // their tiles go with them
  });

  it('counts ticks from the watermark on and asks the store up to it', async () => {
    const d = await dashboard();
    const before = eventsBatch(reader.projectId, 7); // received now: before any watermark handed out
    const view = await watchTiles(d, reader.projectId, [
      { id: 'views', spec: { kind: 'total', metric: 'pageviews', since: Date.now() - 60_000 } },
      { id: 'pages', spec: { kind: 'top', metric: 'pageviews', dimension: 'event:path', minutes: 5 } },
    ]);
    const W = view.accepted.get('views')!.watermark!;
    expect(W % 1000).toBe(0);
    expect(W).toBeGreaterThan(Date.now() - 1000);
    node.live.record(reader.projectId, before); // a late row received before W: the store's, not the ticks'
    await view.backfilled(10_000);
    const keys = ['views', 'pages'].map((id) => view.accepted.get(id)!.key);
    expect([...new Set(reads.filter((r) => keys.includes(r.key)).map((r) => `${r.key}@${r.watermark}`))].sort()).toEqual(keys.map((k) => `${k}@${W}`).sort());
    while (Date.now() < W + 20) await new Promise((r) => setTimeout(r, 20));
    node.live.record(reader.projectId, eventsBatch(reader.projectId, 5));
    await d.tick((t) => Object.keys(t.tiles ?? {}).length > 0 && (t.tiles![view.accepted.get('views')!.key]?.some(([at]) => at >= W) ?? false), 5000);
    expect(view.value('views')).toBe(105);
    expect(view.value('pages')).toEqual({ '/old': 100, '/page/0': 2, '/page/1': 2, '/page/2': 1 });
    const m = await node.metrics.registry.getSingleMetricAsString('livepanel_live_event_to_tick_seconds');
    expect(m).toMatch(/livepanel_live_event_to_tick_seconds_count \d+/);
    expect(Number(/_count (\d+)/.exec(m)![1])).toBeGreaterThan(0);
  });

  it('presence counts devices: two tabs are one visitor; events make devices active', async () => {
    const d = await dashboard();
    node.live.deviceSockets(reader.projectId, 'browser-1', 1);
    node.live.deviceSockets(reader.projectId, 'browser-1', 1);
    node.live.deviceSockets(reader.projectId, 'browser-2', 1);
    node.live.socketsChanged(reader.projectId, 3);
    node.live.record(reader.projectId, eventsBatch(reader.projectId, 4)); // dev-0 … dev-3, over HTTP
    await d.tick(() => true, 5000);
    const until = async (ok: () => boolean) => {
      const end = Date.now() + 10_000;
      while (!ok()) {
        if (Date.now() > end) throw new Error(`presence: ${JSON.stringify(d.presence.at(-1))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => d.presence.at(-1)?.online === 2 && d.presence.at(-1)?.sockets === 3);
    await until(() => (d.presence.at(-1)?.active ?? 0) >= 4);
    node.live.deviceSockets(reader.projectId, 'browser-1', -1);
    node.live.socketsChanged(reader.projectId, 2);
    await until(() => d.presence.at(-1)?.sockets === 2);
    expect(d.presence.at(-1)?.online).toBe(2); // browser-1 still has a tab open
    node.live.deviceSockets(reader.projectId, 'browser-1', -1);
    await until(() => d.presence.at(-1)?.online === 1);
  });
});
