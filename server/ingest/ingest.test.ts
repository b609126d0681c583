import { afterEach, describe, expect, it } from 'vitest';
import type { WriteBatch } from '../../shared/rows.ts';
import { createMemoryDedupe } from '../engines/dedupe.memory.ts';
import { createMemorySessionStore } from '../engines/sessions.memory.ts';
import { createMetrics } from '../metrics.ts';
import { createEnrichSteps } from './enrich.ts';
import { createIngest, type IngestItem } from './ingest.ts';
import { createPipeline } from './pipeline.ts';
import { createSessionStep } from './steps/session.ts';
import type { Caller, RequestInfo } from './types.ts';

const caller: Caller = { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret: false };
const request: RequestInfo = {
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  origin: 'https://shop.example',
  sdkName: 'web',
  sdkVersion: '1',
  receivedAt: Date.UTC(2026, 0, 5, 12),
};
const track = (name: string, id?: string, properties: Record<string, unknown> = { __path: 'https://shop.example/a' }): IngestItem => ({
  body: { ...(id ? { id } : {}), type: 'track', payload: { name, properties } },
  clientEventId: id,
});

function setup(opts: { failPush?: () => boolean } = {}) {
  const sessions = createMemorySessionStore({ timeoutMs: 30 * 60_000 });
  const metrics = createMetrics();
  const pushed: WriteBatch[] = [];
  const ingest = createIngest({
    enrich: createPipeline(createEnrichSteps({ geoip: { lookup: () => null }, salts: { salts: () => ({ current: 's1', previous: 's0' }) } }), { metrics }),
    session: createSessionStep({ sessions, timeoutMs: 30 * 60_000 }),
    sessions,
    dedupe: createMemoryDedupe(),
    queue: {
      async push(batch) {
        if (opts.failPush?.()) throw new Error('disk gone');
        pushed.push(batch);
      },
      async depth() {
        return 0;
      },
      async close() {},
    },
    metrics,
  });
  cleanup.push(() => sessions.close());
  const count = async (name: string, labels: Record<string, string>) => {
    const m = await metrics.registry.getSingleMetricAsString(name);
    const line = m.split('\n').find((l) => !l.startsWith('#') && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  return { ingest, pushed, count };
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe('ingest.accept', () => {
  it('stores each client event id once: repeats within a batch and across batches are dropped as duplicates', async () => {
    const { ingest, pushed } = setup();
    const first = await ingest.accept(caller, request, [track('a', 'e1'), track('b', 'e2'), track('a again', 'e1')], 'ws');
    expect(first.map((r) => r.status)).toEqual(['accepted', 'accepted', 'dropped']);
    expect(first[2]).toMatchObject({ reason: 'duplicate' });
    const second = await ingest.accept(caller, request, [track('c', 'e3'), track('b again', 'e2')], 'ws');
    expect(second.map((r) => r.status)).toEqual(['accepted', 'dropped']);
    const names = pushed.flatMap((b) => b.events.map((e) => e.name)).filter((n) => n !== 'session_start');
    expect(names).toEqual(['a', 'b', 'c']);
  });

  it('rejects an invalid event alone, stores its neighbours, and lets a corrected resend of its id through', async () => {
    const { ingest, pushed } = setup();
    const bad: IngestItem = { body: { id: 'e2', type: 'track', payload: { name: '   ' } }, clientEventId: 'e2' };
    const deep: IngestItem = {
      body: { type: 'track', payload: { name: 'deep', properties: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } } } },
    };
    const results = await ingest.accept(caller, request, [track('a', 'e1'), bad, deep, track('c', 'e3')], 'ws');
    expect(results.map((r) => (r.status === 'rejected' ? r.code : r.status))).toEqual(['accepted', 'invalid_event', 'too_deep', 'accepted']);
    const again = await ingest.accept(caller, request, [track('b', 'e2')], 'ws');
    expect(again[0]!.status).toBe('accepted');
    expect(pushed.flatMap((b) => b.events.map((e) => e.name)).filter((n) => n !== 'session_start')).toEqual(['a', 'c', 'b']);
  });

  it('releases the claims of a batch the queue refused, so its resend is stored', async () => {
    let fail = true;
    const { ingest, pushed } = setup({ failPush: () => fail });
    await expect(ingest.accept(caller, request, [track('a', 'e1')], 'ws')).rejects.toThrow('disk gone');
    fail = false;
    expect((await ingest.accept(caller, request, [track('a', 'e1')], 'ws'))[0]!.status).toBe('accepted');
    expect(pushed.flatMap((b) => b.events.filter((e) => e.name === 'a'))).toHaveLength(1);
  });

  it('writes the payload types zod validates (identify, group) and the replay chunk, which reads the open session', async () => {
    const { ingest, pushed } = setup();
    const replay = {
      type: 'replay',
      payload: { chunk_index: 0, events_count: 1, is_full_snapshot: true, started_at: '2026-01-05T11:59:59Z', ended_at: '2026-01-05T12:00:00Z', payload: '[]' },
    };
    const results = await ingest.accept(
      caller,
      request,
      [track('page'), { body: { type: 'identify', payload: { profileId: 'u1', email: 'a@b.example' } } }, { body: replay }],
      'track',
    );
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const batch = pushed[0]!;
    expect(batch.profiles).toMatchObject([{ op: 'identify', profile_id: 'u1', email: 'a@b.example' }]);
    const page = batch.events.find((e) => e.name === 'page')!;
    expect(batch.replays).toMatchObject([{ session_id: page.session_id, started_at: '2026-01-05 11:59:59.000' }]);
    expect(page.groups).toEqual([]);
  });

  it('counts every event once under its own labels, runs of equal labels included', async () => {
    const { ingest, count } = setup();
    const items = [
      track('a', 'e1'),
      track('b', 'e2'),
      { body: { type: 'identify', payload: { profileId: 'u1' } } },
      track('c', 'e1'), // duplicate
      track('d', 'e1'), // duplicate
      { body: { type: 'track', payload: {} } }, // rejected
      { body: null }, // rejected: not even an object
      track('e', 'e5'),
    ];
    await ingest.accept(caller, request, items, 'ws');
    expect(await count('livepanel_events_accepted_total', { transport: 'ws', type: 'track' })).toBe(3);
    expect(await count('livepanel_events_accepted_total', { transport: 'ws', type: 'identify' })).toBe(1);
    expect(await count('livepanel_events_dropped_total', { reason: 'duplicate' })).toBe(2);
    expect(await count('livepanel_events_rejected_total', { transport: 'ws', code: 'invalid_event' })).toBe(2);
  });
});
