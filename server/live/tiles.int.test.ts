// Live tiles against the store and the query model on one stream: what nodes add up from
// accepted rows (tiles.ts) must equal what the backfill reads from chDB for the same rows
// (tile-backfill.ts) and what `POST /api/v1/query` answers; and any watermark must split the
// stream into a backfill and tick deltas that add up to the whole, with nothing counted twice.
// Guards against a tile and the query model disagreeing on a metric, a filter or a dimension,
// and against a seam (a row on both sides of W, or on neither).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TileBucket, TileSpec, type TileSpecInput } from '../../shared/live-tiles.ts';
import { Query, type QueryInput } from '../../shared/query.ts';
import { chTime, type EventRow, emptyBatch } from '../../shared/rows.ts';
import { createMemoryFunnelProgress } from '../engines/funnel-progress.memory.ts';
import type { FunnelState } from '../engines/funnel-progress.ts';
import { createQueryEngine, type QueryEngine } from '../stats/query-engine.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { readFunnel, readTile } from './tile-backfill.ts';
import { funnelScope, funnelShape, resolveTile } from './tile-spec.ts';
import { chMs, createTileSet } from './tiles.ts';

const DB = 'lp_tiles';
const PROJECT = 'proj_tiles';
const NOW = Date.parse('2026-11-30T10:00:00Z');
const START = NOW - 40 * 60_000; // the stream covers the last 40 minutes
const N = 3000;
let dir: string;
let ch: ClickHouseClient;
let engine: QueryEngine;
let rows: EventRow[];

const NAMES = ['screen_view', 'screen_view', 'signup', 'purchase', 'session_start', 'click', 'session_end'];
const COUNTRIES = ['DE', 'US', 'FR', 'JP', ''];
const REFS = ['Google', 'Hacker News', '', 'Twitter'];

/** A deterministic stream, one row every ~800 ms; some rows carry an older own timestamp (an SDK's offline queue). */
function stream(): EventRow[] {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: N }, (_, i) => {
    const received = START + Math.floor((i * 40 * 60_000) / N) + Math.floor(rnd() * 500);
    const created = i % 17 === 0 ? received - 90_000 : received;
    return makeEvent(i, {
      project_id: PROJECT,
      name: NAMES[Math.floor(rnd() * NAMES.length)]!,
      path: ['/', '/pricing', '/docs', '/blog/launch'][Math.floor(rnd() * 4)]!,
      country: COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!,
      referrer_name: REFS[Math.floor(rnd() * REFS.length)]!,
      utm_campaign: rnd() < 0.3 ? 'launch' : '',
      device: rnd() < 0.5 ? 'mobile' : 'desktop',
      revenue: rnd() < 0.1 ? 100 + i : 0,
      session_id: `s${Math.floor(rnd() * 200)}`,
      device_id: `d${Math.floor(rnd() * 150)}`,
      properties: { amount: rnd() < 0.5 ? String(Math.floor(rnd() * 100)) : 'n/a', plan: rnd() < 0.5 ? 'pro' : 'free' },
      created_at: chTime(created),
      received_at: chTime(received),
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-tiles-int-'));
  ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: DB });
  await migrateClickhouse(ch, DB);
  rows = stream();
  await createWriter(ch).write({ ...emptyBatch(), events: rows }, 'tiles-seed');
  engine = createQueryEngine({ ch, now: () => NOW });
}, 120_000);

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Merges buckets into one value (numbers and maps add; arrays add element-wise). */
function merge(buckets: TileBucket[], from = -Infinity): unknown {
  let acc: unknown;
  for (const [at, v] of buckets) {
    if (at < from) continue;
    if (typeof v === 'number') acc = ((acc as number) ?? 0) + v;
    else if (Array.isArray(v) && typeof v[0] === 'number') acc = (v as number[]).map((x, i) => x + ((acc as number[] | undefined)?.[i] ?? 0));
    else if (!Array.isArray(v)) {
      acc ??= {};
      const m = acc as Record<string, number>;
      for (const [k, n] of Object.entries(v)) m[k] = (m[k] ?? 0) + n;
    }
  }
  return acc;
}
/** Minute buckets → number per minute (for rate tiles). */
const perMinute = (buckets: TileBucket[], from = -Infinity) => {
  const out = new Map<number, number>();
  for (const [at, v] of buckets) if (at >= from) out.set(at - (at % 60_000), (out.get(at - (at % 60_000)) ?? 0) + (v as number));
  return out;
};

const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * What nodes send in ticks for the tile, rows received from `from` on fed in batches of 37 in
 * arrival order. A funnel's progress epoch starts at `from`, seeded with `seed` (what the
 * store's backfill up to `from` holds).
 */
async function live(spec: TileSpecInput, now = NOW, from = -Infinity, seed: Array<[string, FunnelState]> = []) {
  const t = resolveTile(TileSpec.parse(spec), now);
  const progress = createMemoryFunnelProgress();
  const set = createTileSet({ progress });
  set.watch(PROJECT, t);
  await set.whenReady();
  if (t.kind === 'funnel') {
    const scope = funnelScope(PROJECT, t.key);
    await progress.claim(scope, Number.isFinite(from) ? from : 0);
    await progress.seed(scope, Number.isFinite(from) ? from : 0, seed, funnelShape(t));
  }
  const buckets: TileBucket[] = [];
  const drain = async () => {
    // A funnel's deltas come back from its progress store a few turns later.
    for (let k = 0; k < (t.kind === 'funnel' ? 4 : 1); k++) {
      buckets.push(...(set.drain(PROJECT)?.[t.key] ?? []));
      if (t.kind === 'funnel') await turn();
    }
  };
  const sorted = [...rows].sort((a, b) => a.received_at.localeCompare(b.received_at)).filter((r) => chMs(r.received_at) >= from);
  for (let i = 0; i < sorted.length; i += 37) {
    set.record(PROJECT, sorted.slice(i, i + 37));
    if (i % 111 === 0 || t.kind === 'funnel') await drain();
  }
  await drain();
  return { t, buckets };
}

/** Everything the store holds for the tile up to `to`, over the widest window (callers cut at their own start). */
const storedUpTo = (t: ReturnType<typeof resolveTile>, to: number) => readTile(ch, PROJECT, t.minutes ? { ...t, minutes: 60 } : t, to);

const SPECS: Record<string, TileSpecInput> = {
  signups: { kind: 'total', metric: 'events', filters: [['is', 'event:name', ['signup']]], since: NOW - 25 * 60_000 },
  revenue: { kind: 'total', metric: 'revenue', since: NOW - 60 * 60_000 },
  amount: { kind: 'total', metric: 'sum:amount', filters: [['is', 'event:props:plan', ['pro']]], since: NOW - 30 * 60_000 },
  rate: { kind: 'rate', metric: 'events', minutes: 30 },
  pages: { kind: 'top', metric: 'pageviews', dimension: 'event:path', minutes: 30 },
  referrers: { kind: 'top', metric: 'sessions', dimension: 'session:referrer_name', minutes: 30 },
  campaigns: { kind: 'top', metric: 'sessions', dimension: 'session:utm_campaign', since: NOW - 20 * 60_000 },
  countries: { kind: 'top', metric: 'events', dimension: 'geo:country', limit: 50, minutes: 30, filters: [['not', ['is', 'event:path', ['/docs']]]] },
  devices: { kind: 'top', metric: 'sessions', dimension: 'device:type', minutes: 30 },
  funnel: {
    kind: 'funnel',
    steps: [
      { filters: [['is', 'event:name', ['screen_view']]] },
      { filters: [['is', 'event:name', ['signup']]] },
      { filters: [['is', 'event:name', ['purchase']]] },
    ],
    minutes: 60,
  },
};

describe('tiles: nodes and the store agree', () => {
  for (const [name, spec] of Object.entries(SPECS)) {
    it(`${name}: ticks add up to the store's answer`, async () => {
      const { t, buckets } = await live(spec);
      const stored = await storedUpTo(t, NOW + 60_000);
      if (t.kind === 'rate') {
        const from = NOW - (NOW % 60_000) - 29 * 60_000;
        expect(perMinute(buckets, from)).toEqual(perMinute(stored, from));
      } else if (t.kind === 'funnel') {
        expect(merge(buckets)).toEqual(merge(stored));
      } else {
        const from = t.since ?? NOW - (NOW % 60_000) - ((t.minutes ?? 30) - 1) * 60_000;
        expect(merge(buckets, from)).toEqual(merge(stored, from));
      }
      expect(merge(buckets)).toBeDefined();
    });
  }

  it('any watermark splits a tile into backfill + ticks with nothing missing or counted twice', async () => {
    for (const name of ['signups', 'pages', 'rate', 'amount']) {
      const { t, buckets } = await live(SPECS[name]!);
      for (const W of [NOW - 17 * 60_000 - 3000, NOW - 5 * 60_000 + 1000, NOW - 61_000]) {
        const before = await readTile(ch, PROJECT, t, W);
        const after = buckets.filter(([at]) => at >= W);
        const whole = await storedUpTo(t, NOW + 60_000);
        const from = t.since ?? W - (W % 60_000) - ((t.minutes ?? 30) - 1) * 60_000;
        expect(merge([...before, ...after], from), `${name} at ${W}`).toEqual(merge(whole, from));
      }
    }
  });
});

describe('rate tiles: the last minute before the watermark per second', () => {
  it('gives the seconds before W one by one (the per-second bars), the rest by minute, adding up to the same', async () => {
    const t = resolveTile(TileSpec.parse(SPECS.rate), NOW);
    const W = NOW - 5 * 60_000 + 7000;
    const buckets = await readTile(ch, PROJECT, t, W);
    const from = W - 60_000;
    const seconds = buckets.filter(([at]) => at >= from);
    expect(seconds.length).toBeGreaterThan(30); // a row every ~800 ms
    for (const [at] of seconds) expect(at % 1000).toBe(0);
    expect(buckets.filter(([at]) => at < from).every(([at]) => at % 60_000 === 0)).toBe(true);
    // Per second: what the stream holds for each of those seconds (rows on time, events metric).
    const want = new Map<number, number>();
    for (const r of rows) {
      const at = chMs(r.received_at);
      if (at < from || at >= W || !t.match(r) || t.weight!(r) === 0) continue;
      if (chMs(r.created_at) < at - 86_400_000) continue;
      want.set(at - (at % 1000), (want.get(at - (at % 1000)) ?? 0) + t.weight!(r));
    }
    expect(new Map(seconds as Array<[number, number]>)).toEqual(want);
  });
});

describe('live funnels: exact across the watermark', () => {
  const FUNNELS: Record<string, TileSpecInput> = {
    since: {
      kind: 'funnel',
      steps: [{ filters: [['is', 'event:name', ['screen_view']]] }, { filters: [['is', 'event:name', ['signup']]] }],
      since: NOW - 45 * 60_000,
    },
    sliding: SPECS.funnel!,
    // Overlapping steps: one row can meet steps 1 and 2 at once.
    overlap: {
      kind: 'funnel',
      steps: [
        { filters: [['is', 'event:path', ['/pricing']]] },
        { filters: [['is', 'event:name', ['screen_view', 'signup']]] },
        { filters: [['is', 'event:name', ['purchase']]] },
      ],
      since: NOW - 45 * 60_000,
    },
  };

  it("the backfill's replay counts what ClickHouse's windowFunnel counts", async () => {
    for (const name of ['since', 'overlap']) {
      const t = resolveTile(TileSpec.parse(FUNNELS[name]), NOW);
      const where =
        name === 'since' ? ["name = 'screen_view'", "name = 'signup'"] : ["path = '/pricing'", "name IN ('screen_view', 'signup')", "name = 'purchase'"];
      const rs = await ch.query({
        query: `SELECT level, count() AS n FROM (SELECT windowFunnel(${funnelShape(t).windowMs})(toUInt64(toUnixTimestamp64Milli(received_at)), ${where.join(', ')}) AS level FROM events WHERE project_id = {p:String} AND session_id != '' AND received_at >= fromUnixTimestamp64Milli(toInt64({s:String})) GROUP BY session_id) WHERE level > 0 GROUP BY level`,
        query_params: { p: PROJECT, s: String(t.since) },
        format: 'JSONEachRow',
      });
      const byLevel = await rs.json<{ level: number; n: string }>();
      const want = where.map((_, k) => byLevel.filter((r) => Number(r.level) > k).reduce((a, r) => a + Number(r.n), 0));
      expect(merge(await storedUpTo(t, NOW + 60_000)), name).toEqual(want);
    }
  });

  it('backfill up to W + ticks from a progress seeded at W = the whole stream, for any W', async () => {
    for (const name of ['since', 'sliding', 'overlap']) {
      const t0 = resolveTile(TileSpec.parse(FUNNELS[name]), NOW);
      const whole = merge(await readTile(ch, PROJECT, t0, NOW + 60_000), -Infinity);
      for (const W of [NOW - 30 * 60_000 - 3000, NOW - 17 * 60_000 - 3000, NOW - 5 * 60_000 + 1000, NOW - 61_000]) {
        const before = await readFunnel(ch, PROJECT, t0, W);
        const { buckets } = await live(FUNNELS[name]!, NOW, W, before.states);
        // A sliding window: both sides as seen from the end of the stream.
        const from = t0.since ?? NOW + 60_000 - ((NOW + 60_000) % 60_000) - (t0.minutes! - 1) * 60_000;
        const got = merge([...before.buckets, ...buckets], from);
        const want = merge(await readTile(ch, PROJECT, t0, NOW + 60_000), from);
        expect(got, `${name} at ${W}`).toEqual(want);
        expect((whole as number[])[1], name).toBeGreaterThan(0); // visits did reach step 2
      }
    }
  });
});

describe('tiles: the query model answers the same', () => {
  const run = (q: Partial<QueryInput>) => engine.run(Query.parse({ project_id: PROJECT, ...q }));
  // The query model places events by their own time; on rows whose own time is their arrival
  // (every row but the few with an older timestamp, left out here) both must agree.
  const onTime = () => rows.filter((r) => r.created_at === r.received_at);
  const liveOnTime = (spec: TileSpecInput) => {
    const t = resolveTile(TileSpec.parse(spec), NOW);
    const set = createTileSet();
    set.watch(PROJECT, t);
    set.record(PROJECT, onTime());
    return { t, value: merge(set.drain(PROJECT)?.[t.key] ?? []) };
  };
  const late = () => rows.filter((r) => r.created_at !== r.received_at);

  it('totals with filters', async () => {
    for (const name of ['signups', 'revenue', 'amount']) {
      const spec = SPECS[name] as TileSpecInput & { metric: string; since: number; filters?: QueryInput['filters'] };
      const { value } = liveOnTime(spec);
      const metricName = spec.metric;
      const q = await run({
        metrics: [metricName],
        date_range: [new Date(spec.since).toISOString(), new Date(NOW + 60_000).toISOString()],
        filters: spec.filters,
      });
      // Subtract what the late rows add to the query model's answer (it places them by their own time).
      const t = resolveTile(TileSpec.parse(spec), NOW);
      const lateShare = late()
        .filter((r) => Date.parse(`${r.created_at.replace(' ', 'T')}Z`) >= spec.since && t.match(r))
        .reduce((s, r) => s + t.weight!(r), 0);
      expect((value as number | undefined) ?? 0, name).toBeCloseTo((q.results[0]?.metrics[0] ?? 0) - lateShare, 6);
    }
  });

  it('top-N by a dimension', async () => {
    for (const name of ['campaigns']) {
      const spec = SPECS[name] as TileSpecInput & { metric: string; dimension: string; since: number };
      const { t, value } = liveOnTime(spec);
      const q = await run({
        metrics: [spec.metric],
        dimensions: [spec.dimension] as never,
        date_range: [new Date(spec.since).toISOString(), new Date(NOW + 60_000).toISOString()],
      });
      const fromModel: Record<string, number> = {};
      for (const r of q.results) if (r.metrics[0]) fromModel[r.dimensions[0]!] = r.metrics[0];
      for (const r of late()) {
        if (Date.parse(`${r.created_at.replace(' ', 'T')}Z`) < spec.since || !t.match(r)) continue;
        const k = t.dim!.row!(r);
        fromModel[k] = (fromModel[k] ?? 0) - t.weight!(r);
        if (fromModel[k] === 0) delete fromModel[k];
      }
      expect(value ?? {}).toEqual(fromModel);
    }
  });
});
