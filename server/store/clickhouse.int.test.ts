// The ClickHouse store against a real chDB (own folder under the OS temp dir; chDB locks a
// folder to one process): migrations, the writer's round trip, retry deduplication in tables
// and rollups, profile ops, session re-writes, and the first read queries.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyBatch, type ProfileOp, type WriteBatch } from '../../shared/rows.ts';
import { createMetrics } from '../metrics.ts';
import { countEvents, getProfile, listEvents, listSessions } from '../stats/events.ts';
import { makeEvent, makeEvents, makeSession } from './clickhouse.fixtures.ts';
import { loadMigrations, migrateClickhouse } from './clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse, insertBytes } from './clickhouse.ts';
import { isDataError } from './insert-split.ts';
import { createWriter, type Writer } from './writer.ts';

const DB = 'lp_test';
let dir: string;
let ch: ClickHouseClient;
let writer: Writer;
const metrics = createMetrics();

async function select<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}
const one = async <T>(query: string, params: Record<string, unknown> = {}) => (await select<T>(query, params))[0]!;
const batch = (over: Partial<WriteBatch>): WriteBatch => ({ ...emptyBatch(), ...over });

/** Events, hourly and daily rollup totals of one project. */
async function totals(project: string) {
  const p = { p: project };
  const events = Number((await one<{ n: string }>('SELECT count() AS n FROM events WHERE project_id = {p:String}', p)).n);
  const rollup = (t: string) =>
    one<{ events: string; devices: string; sessions: string }>(
      `SELECT countMerge(events) AS events, uniqMerge(devices) AS devices, uniqMerge(sessions) AS sessions FROM ${t} WHERE project_id = {p:String}`,
      p,
    );
  const [h, d] = [await rollup('events_hourly'), await rollup('events_daily')];
  return { events, hourly: Number(h.events), daily: Number(d.events), hourlyDevices: Number(h.devices), dailyDevices: Number(d.devices) };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-ch-int-'));
  ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: DB });
  await migrateClickhouse(ch, DB);
  writer = createWriter(ch, metrics);
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrations', () => {
  it('are recorded once and re-applying them is a no-op', async () => {
    const all = loadMigrations().map((m) => m.name);
    expect(all.slice(0, 5)).toEqual(['001_events.sql', '002_sessions.sql', '003_profiles.sql', '004_groups_replays.sql', '005_rollups.sql']);
    expect(await migrateClickhouse(ch, DB)).toEqual({ applied: [] });
    const recorded = await select<{ name: string }>(`SELECT name FROM ${DB}.schema_migrations ORDER BY version`);
    expect(recorded.map((r) => r.name)).toEqual(all);
    const tables = await select<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name', { db: DB });
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['events', 'sessions', 'profiles', 'groups', 'replays', 'events_hourly', 'events_hourly_mv', 'events_daily', 'events_daily_mv']),
    );
  });

  it('applies only new files, and refuses an applied file that was edited', async () => {
    const copy = path.join(dir, 'migrations');
    cpSync(fileURLToPath(new URL('../../db/clickhouse', import.meta.url)), copy, { recursive: true });
    writeFileSync(
      path.join(copy, '900_extra.sql'),
      "-- two statements; a ';' in a string\nCREATE TABLE IF NOT EXISTS {database}.extra (s String DEFAULT 'a;b') ENGINE = Memory;\nINSERT INTO {database}.extra (s) VALUES ('x;y');\n",
    );
    expect(await migrateClickhouse(ch, DB, copy)).toEqual({ applied: ['900_extra.sql'] });
    expect(await migrateClickhouse(ch, DB, copy)).toEqual({ applied: [] });
    expect(await select('SELECT s FROM extra')).toEqual([{ s: 'x;y' }]);
    writeFileSync(path.join(copy, '001_events.sql'), '-- edited\nSELECT 1;\n');
    await expect(migrateClickhouse(ch, DB, copy)).rejects.toThrow(/001_events\.sql changed/);
  });
});

describe('writer round trip', () => {
  it('reads back every field of events, sessions, groups and replays exactly', async () => {
    const e1 = makeEvent(1, {
      project_id: 'rt',
      title: 'tab\there, newline\nthere, \'quotes\' "double" back\\slash \\N 😀 漢字 Zürich',
      properties: { "k'ey\twith tab": "v\\al\n'ue", 'nested.a.b': '1', ключ: 'значение', '': '' },
      groups: ['g1', "g'2", 'g\\3'],
      latitude: null,
      longitude: null,
      created_at: '2024-05-01 08:00:00.001',
      received_at: '2024-05-01 08:00:00.999',
      revenue: 4_294_967_296,
    });
    const e2 = makeEvent(2, {
      project_id: 'rt',
      properties: {},
      groups: [],
      latitude: -33.86882,
      longitude: 151.209296,
      created_at: '2024-06-30 23:59:59.999',
    });
    const sessions = [makeSession('s-rt', { project_id: 'rt', exit_path: '/ünïcode?q=a\tb' })];
    const groups = [{ project_id: 'rt', id: 'org_1', type: 'company', name: 'Acme "Inc"', properties: { plan: 'pro' }, updated_at: '2024-05-01 08:00:00.123' }];
    const payload = JSON.stringify({ type: 2, data: { node: '<div>\t"hi"\n</div>', emoji: '🎉' } }).repeat(50);
    const replays = [
      {
        project_id: 'rt',
        session_id: 's-rt',
        device_id: 'dev_1',
        chunk_index: 0,
        started_at: '2024-05-01 08:00:00.000',
        ended_at: '2024-05-01 08:00:05.432',
        events_count: 42,
        is_full_snapshot: 1,
        payload,
      },
    ];
    await writer.write(batch({ events: [e1, e2], sessions, groups, replays }), 'rt-1');

    expect(await listEvents(ch, { projectId: 'rt', limit: 10 })).toEqual([e2, e1]);
    expect(await listSessions(ch, { projectId: 'rt', limit: 10 })).toEqual(sessions);
    expect(await select('SELECT project_id, id, type, name, properties, updated_at FROM groups FINAL WHERE project_id = {p:String}', { p: 'rt' })).toEqual(
      groups,
    );
    expect(await select('SELECT * FROM replays FINAL WHERE project_id = {p:String}', { p: 'rt' })).toEqual(replays);
    expect(await countEvents(ch, { projectId: 'rt' })).toBe(2);
    const flushed = await metrics.registry.getSingleMetricAsString('livepanel_flush_rows');
    expect(flushed).toMatch(/^livepanel_flush_rows_sum\{table="events"\} 2$/m);
    expect(flushed).toMatch(/^livepanel_flush_rows_count\{table="replays"\} 1$/m);
  });

  it('leaves no deduplication token behind in the session (a leaked token drops later inserts)', async () => {
    expect(await one("SELECT getSetting('insert_deduplication_token') AS t")).toEqual({ t: '' });
  });
});

describe('deduplication of retried batches', () => {
  it('counts the same batch with the same token once, in events and both rollups; another token twice', async () => {
    const b = batch({ events: makeEvents(300, 0, { project_id: 'dd' }) });
    await writer.write(b, 'dd-1');
    const first = await totals('dd');
    expect(first).toMatchObject({ events: 300, hourly: 300, daily: 300 });
    await writer.write(b, 'dd-1');
    expect(await totals('dd')).toEqual(first);
    await writer.write(b, 'dd-2');
    expect(await totals('dd')).toMatchObject({ events: 600, hourly: 600, daily: 600 });
  });

  it('quotes tokens safely (quotes, backslashes)', async () => {
    const b = batch({ events: makeEvents(3, 0, { project_id: 'dq' }) });
    await writer.write(b, "it's \\ odd");
    await writer.write(b, "it's \\ odd");
    await writer.write(b, "it's \\ odd'");
    expect(await totals('dq')).toMatchObject({ events: 6, hourly: 6, daily: 6 });
  });

  it('keeps tokens per partition: a batch spanning two months is dropped whole on retry', async () => {
    const b = batch({
      events: [
        makeEvent(1, { project_id: 'dm', created_at: '2024-01-31 23:59:59.999' }),
        makeEvent(2, { project_id: 'dm', created_at: '2024-02-01 00:00:00.000' }),
      ],
    });
    await writer.write(b, 'dm-1');
    await writer.write(b, 'dm-1');
    expect(await totals('dm')).toMatchObject({ events: 2, hourly: 2, daily: 2 });
  });

  it('repairs a rollup that missed the first attempt, without counting events twice', async () => {
    // Simulates a failure after events stored the block but before the view ran.
    const b = batch({ events: makeEvents(50, 0, { project_id: 'pf' }) });
    await ch.command({ query: 'DETACH TABLE events_hourly_mv' });
    try {
      await writer.write(b, 'pf-1');
    } finally {
      await ch.command({ query: 'ATTACH TABLE events_hourly_mv' });
    }
    expect(await totals('pf')).toMatchObject({ events: 50, hourly: 0, daily: 50 });
    await writer.write(b, 'pf-1');
    expect(await totals('pf')).toMatchObject({ events: 50, hourly: 50, daily: 50 });
  });

  it('rollup uniqMerge(devices) equals count(DISTINCT device_id) over a generated data set', async () => {
    for (let k = 0; k < 4; k++) await writer.write(batch({ events: makeEvents(2500, k * 2500, { project_id: 'uq' }) }), `uq-${k}`);
    const exact = await one<{ d: string; s: string }>(
      "SELECT count(DISTINCT device_id) AS d, count(DISTINCT session_id) AS s FROM events WHERE project_id = 'uq'",
    );
    const t = await totals('uq');
    expect(t).toMatchObject({ events: 10_000, hourly: 10_000, daily: 10_000, hourlyDevices: Number(exact.d), dailyDevices: Number(exact.d) });
    const perHour = await select<{ bucket: string; exact: string; rolled: string }>(`
      SELECT e.bucket AS bucket, e.exact AS exact, r.rolled AS rolled FROM
        (SELECT toStartOfHour(created_at) AS bucket, count(DISTINCT session_id) AS exact FROM events WHERE project_id = 'uq' GROUP BY bucket) AS e
        JOIN (SELECT bucket, uniqMerge(sessions) AS rolled FROM events_hourly WHERE project_id = 'uq' GROUP BY bucket) AS r USING (bucket)
      ORDER BY bucket`);
    expect(perHour.length).toBeGreaterThan(1);
    for (const h of perHour) expect(Number(h.rolled)).toBe(Number(h.exact));
  });
});

describe('profile ops', () => {
  const at = (s: number) => `2024-05-01 09:00:${String(s).padStart(2, '0')}.000`;
  const op = {
    identify: (s: number, over: Partial<Extract<ProfileOp, { op: 'identify' }>> = {}): ProfileOp => ({
      op: 'identify',
      project_id: 'pr',
      profile_id: 'u1',
      at: at(s),
      properties: {},
      ...over,
    }),
    increment: (s: number, property: string, by: number, id = 'u1'): ProfileOp => ({
      op: 'increment',
      project_id: 'pr',
      profile_id: id,
      at: at(s),
      property,
      by,
    }),
    groups: (s: number, groups: string[]): ProfileOp => ({ op: 'assign_groups', project_id: 'pr', profile_id: 'u1', at: at(s), groups }),
  };
  const expected = {
    project_id: 'pr',
    id: 'u1',
    first_name: 'Ada',
    last_name: 'Lovelace',
    email: 'ada@example.com',
    avatar: '',
    properties: { plan: 'pro', logins: '3', credits: '7.5' },
    groups: ['org_1', 'team_a'],
    created_at: at(1),
    updated_at: at(6),
  };

  it('applies identify, increment ×2, a decrement and assign_groups in order within one batch', async () => {
    await writer.write(
      batch({
        profiles: [
          op.identify(1, { first_name: 'Ada', last_name: 'Byron', email: 'ada@example.com', properties: { plan: 'free', credits: '10' } }),
          op.increment(2, 'logins', 1),
          op.increment(3, 'logins', 2),
          op.increment(4, 'credits', -2.5),
          op.identify(5, { last_name: 'Lovelace', properties: { plan: 'pro' } }),
          op.groups(6, ['org_1', 'team_a', 'org_1']),
        ],
      }),
      'pr-1',
    );
    expect(await getProfile(ch, 'pr', 'u1')).toEqual(expected);
    expect(Number((await one<{ n: string }>("SELECT count() AS n FROM profiles WHERE project_id = 'pr'")).n)).toBe(1);
  });

  it('continues from the stored version across write() calls, and ignores a retried batch', async () => {
    const second = batch({ profiles: [op.increment(7, 'logins', 1), op.increment(7, 'logins', 1), op.groups(7, ['team_b', 'org_1'])] });
    await writer.write(second, 'pr-2');
    await writer.write(second, 'pr-2');
    const want = { ...expected, properties: { ...expected.properties, logins: '5' }, groups: ['org_1', 'team_a', 'team_b'], updated_at: at(7) };
    expect(await getProfile(ch, 'pr', 'u1')).toEqual(want);
    // An op older than the stored version still lands (it must not lose the replacement).
    await writer.write(batch({ profiles: [op.increment(0, 'logins', -5)] }), 'pr-3');
    expect(await getProfile(ch, 'pr', 'u1')).toEqual({ ...want, properties: { ...want.properties, logins: '0' } });
  });

  it('keeps concurrent write() calls on one profile from losing an increment', async () => {
    await Promise.all(Array.from({ length: 5 }, (_, k) => writer.write(batch({ profiles: [op.increment(10, 'hits', 1, 'u2')] }), `pr-c-${k}`)));
    expect((await getProfile(ch, 'pr', 'u2'))?.properties).toEqual({ hits: '5' });
    expect(await getProfile(ch, 'pr', 'nobody')).toBeNull();
  });
});

describe('sessions', () => {
  it('re-written with the same id is one row with FINAL; the latest ended_at wins', async () => {
    const first = makeSession('s-1', { project_id: 'ss' });
    const later = makeSession('s-1', { project_id: 'ss', ended_at: '2024-05-01 08:20:00.000', duration: 1_200_000, event_count: 20 });
    const stale = makeSession('s-1', { project_id: 'ss', ended_at: '2024-05-01 08:05:00.000', event_count: 3 });
    await writer.write(batch({ sessions: [first] }), 'ss-1');
    await writer.write(batch({ sessions: [later] }), 'ss-2');
    await writer.write(batch({ sessions: [stale] }), 'ss-3');
    expect(await listSessions(ch, { projectId: 'ss', limit: 10 })).toEqual([later]);
  });
});

describe('insertBytes (chDB: the buffer handed to the engine as it is)', () => {
  const into = (token: string, body: string) =>
    insertBytes(ch, {
      table: 'bytes_t',
      columns: ['a', 's'],
      format: 'JSONCompactEachRow',
      body: Buffer.from(body),
      settings: { insert_deduplication_token: token },
    });
  const rows = async () => select<{ a: number; s: string }>('SELECT a, s FROM bytes_t ORDER BY a');

  beforeAll(async () => {
    await ch.command({ query: 'CREATE TABLE bytes_t (a UInt32, s String) ENGINE = MergeTree ORDER BY a SETTINGS non_replicated_deduplication_window = 100' });
  });

  it('stores the rows once per token, and its settings do not outlive it', async () => {
    await into("t'1\\", '[1,"é"]\n[2,"b"]\n');
    await into("t'1\\", '[1,"é"]\n[2,"b"]\n');
    expect(await rows()).toEqual([
      { a: 1, s: 'é' },
      { a: 2, s: 'b' },
    ]);
    expect(await one("SELECT getSetting('insert_deduplication_token') AS t")).toEqual({ t: '' });
    await ch.insert({
      table: 'bytes_t',
      values: [
        { a: 3, s: 'c' },
        { a: 1, s: 'é' },
      ],
      format: 'JSONEachRow',
    });
    expect(await rows()).toHaveLength(4);
  });

  it("refuses a row for its content with the client's error (code and type), then answers the next statement alone", async () => {
    const err = await into('t2', '[4,"d"]\n["x","e"]\n').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/^\d+$/), type: expect.any(String) });
    expect(isDataError(err)).toBe(true);
    expect(await select('SELECT 42 AS x')).toEqual([{ x: 42 }]);
    expect(await rows()).toHaveLength(4);
  });
});

describe('after a statement fails', () => {
  // Fails after producing rows: chDB (3.4) has put ~1.8M of them in the session by then.
  const FAILS = 'SELECT number AS n FROM numbers(3000000) WHERE throwIf(number = 2000000) = 0 SETTINGS max_block_size = 65536';

  it("gives the next statement only its own rows (chDB leaves the failed statement's in the session)", async () => {
    await expect(select(FAILS)).rejects.toThrow(/throwIf/);
    expect(await select('SELECT 42 AS x')).toEqual([{ x: 42 }]);
    // Two failures in a row, then a statement with parameters and another format.
    await expect(select(FAILS)).rejects.toThrow(/throwIf/);
    await expect(select(FAILS)).rejects.toThrow(/throwIf/);
    expect(await (await ch.query({ query: 'SELECT {v:String} AS v', query_params: { v: 'own' }, format: 'TabSeparated' })).text()).toBe('own\n');
  });

  it('also for statements issued beside the failing one', async () => {
    const [failed, ...rest] = await Promise.allSettled([select(FAILS), select('SELECT 1 AS a'), one('SELECT count() AS n FROM numbers(10)')]);
    expect(failed.status).toBe('rejected');
    expect(rest).toEqual([
      { status: 'fulfilled', value: [{ a: 1 }] },
      { status: 'fulfilled', value: { n: 10 } },
    ]);
  });
});

describe('countEvents', () => {
  it('filters by time range [from, to) and name', async () => {
    const events = [
      makeEvent(1, { project_id: 'ce', name: 'a', created_at: '2024-05-01 10:00:00.000' }),
      makeEvent(2, { project_id: 'ce', name: 'b', created_at: '2024-05-01 10:59:59.999' }),
      makeEvent(3, { project_id: 'ce', name: 'a', created_at: '2024-05-01 11:00:00.000' }),
    ];
    await writer.write(batch({ events }), 'ce-1');
    const d = (s: string) => new Date(`${s}Z`);
    expect(await countEvents(ch, { projectId: 'ce' })).toBe(3);
    expect(await countEvents(ch, { projectId: 'ce', name: 'a' })).toBe(2);
    expect(await countEvents(ch, { projectId: 'ce', from: d('2024-05-01T10:00:00.000'), to: d('2024-05-01T11:00:00.000') })).toBe(2);
    expect(await countEvents(ch, { projectId: 'ce', from: d('2024-05-01T10:59:59.999'), name: 'b' })).toBe(1);
    expect(await countEvents(ch, { projectId: "ce' OR 1=1 --" })).toBe(0);
  });
});
