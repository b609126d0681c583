// The page, visit, weekly and monthly rollups (007_page_rollups.sql, 008_visit_rollups.sql,
// 010_weekly_monthly_rollups.sql, 012_period_rollups.sql) on an existing install: data written
// before the migrations is backfilled (also when the upgrade is interrupted and run again),
// data written after flows through the views (the weekly and monthly ones fed by the daily
// ones), a retried batch is counted once, and the rollups answer exactly what raw events and
// `sessions FINAL` answer.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Query, type QueryInput } from '../../shared/query.ts';
import { emptyBatch } from '../../shared/rows.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { loadMigrations, migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { projectTables } from '../store/clickhouse-erase.ts';
import { createWriter } from '../store/writer.ts';
import { createQueryEngine } from './query-engine.ts';
import { PROJECT, statsBatch } from './stats.fixtures.ts';
import { SESSION_ROLLUP_DIMENSIONS, VISIT_ROLLUP_DIMENSIONS } from './tables.ts';

const DB = 'lp_rollups';
const MIGRATIONS = fileURLToPath(new URL('../../db/clickhouse', import.meta.url));
let dir: string;
let ch: ClickHouseClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-rollups-int-'));
  ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: DB });
  // An install from before the page rollups, with data.
  const before = path.join(dir, 'migrations');
  for (const f of readdirSync(MIGRATIONS)) if (Number(f.slice(0, 3)) < 7) cpSync(path.join(MIGRATIONS, f), path.join(before, f));
  await migrateClickhouse(ch, DB, before);
  await createWriter(ch).write(statsBatch(), 'before-upgrade');
  // The upgrade, interrupted half-way through 009 (pages_daily dropped, its rebuild not yet
  // renamed into place), then run again: the file is applied again from its first statement.
  const upTo8 = path.join(dir, 'migrations-8');
  for (const f of readdirSync(MIGRATIONS)) if (Number(f.slice(0, 3)) <= 8) cpSync(path.join(MIGRATIONS, f), path.join(upTo8, f));
  expect((await migrateClickhouse(ch, DB, upTo8)).applied).toEqual(['007_page_rollups.sql', '008_visit_rollups.sql']);
  const fine = loadMigrations().find((m) => m.version === 9)!;
  const cut = fine.statements.findIndex((sql) => sql.startsWith('DROP TABLE IF EXISTS {database}.pages_daily'));
  expect(cut).toBeGreaterThan(0);
  for (const sql of fine.statements.slice(0, cut + 1)) await ch.command({ query: sql.replaceAll('{database}', DB) });
  const upTo11 = path.join(dir, 'migrations-11');
  for (const f of readdirSync(MIGRATIONS)) if (Number(f.slice(0, 3)) <= 11) cpSync(path.join(MIGRATIONS, f), path.join(upTo11, f));
  expect((await migrateClickhouse(ch, DB, upTo11)).applied).toEqual([
    '009_fine_rollup_granules.sql',
    '010_weekly_monthly_rollups.sql',
    '011_events_path_projection.sql',
  ]);
  // The weekly and monthly tables folded into one per family (012), interrupted after the
  // pages' weekly table was dropped and before the view standing in for it was created.
  const periods = loadMigrations().find((m) => m.version === 12)!;
  const cut12 = periods.statements.findIndex((sql) => sql.startsWith('DROP TABLE IF EXISTS {database}.pages_weekly'));
  expect(cut12).toBeGreaterThan(0);
  for (const sql of periods.statements.slice(0, cut12 + 1)) await ch.command({ query: sql.replaceAll('{database}', DB) });
  expect((await migrateClickhouse(ch, DB)).applied).toEqual(['012_period_rollups.sql', '013_events_compact_parts.sql']);
  // After the upgrade: the same visits for a second project, written twice with one token.
  const writer = createWriter(ch);
  await writer.write(statsBatch('proj_after'), 'after-upgrade');
  await writer.write(statsBatch('proj_after'), 'after-upgrade');
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const engine = () => createQueryEngine({ ch, now: () => Date.parse('2024-05-04T12:00:00Z') });
const RAW: QueryInput['filters'] = [['is_not', 'geo:country', ['ZZ']]];

describe('page rollups', () => {
  it.each([PROJECT, 'proj_after'])('answer what raw events answer (%s)', async (project) => {
    const cases: Array<Partial<QueryInput>> = [
      { metrics: ['visitors', 'sessions', 'pageviews'], dimensions: ['event:path'], filters: [['is', 'event:name', ['screen_view']]] },
      { metrics: ['events', 'visitors'], dimensions: ['time:day'], filters: [['starts_with', 'event:path', ['/pri']]] },
    ];
    for (const q of cases) {
      const base = { project_id: project, date_range: ['2024-04-28', '2024-05-03'], ...q } as QueryInput;
      const rolled = await engine().run(Query.parse(base));
      expect(rolled.meta.sources).toEqual(['pages_daily']);
      const raw = await engine().run(Query.parse({ ...base, filters: [...(base.filters ?? []), ...(RAW ?? [])] }));
      expect(raw.meta.sources).toEqual(['events']);
      expect(rolled.results).toEqual(raw.results);
    }
    // Known by construction: 8 page views in the range (s0 … s5), / viewed 4 times.
    const pages = await engine().run(
      Query.parse({
        project_id: project,
        date_range: ['2024-04-28', '2024-05-03'],
        metrics: ['pageviews'],
        dimensions: ['event:path'],
        filters: [['is', 'event:name', ['screen_view']]],
      }),
    );
    expect(Object.fromEntries(pages.results.map((r) => [r.dimensions[0], r.metrics[0]]))).toEqual({ '/': 4, '/pricing': 2, '/blog': 1, '/docs': 1 });
  });
});

describe('visit rollups', () => {
  // A condition every row meets, on an attribute no rollup keeps: forces session starts / sessions FINAL.
  const RAW_VISITS: NonNullable<QueryInput['filters']> = [['is_not', 'profile:id', ['nobody']]];
  const range = { date_range: ['2024-04-28', '2024-05-03'] as [string, string] };

  it.each([PROJECT, 'proj_after'])('answer what session starts and sessions answer, for every dimension they keep (%s)', async (project) => {
    const cases: Array<{ q: Partial<QueryInput>; source: string }> = [
      ...VISIT_ROLLUP_DIMENSIONS.map((d) => ({ q: { metrics: ['visitors', 'sessions'], dimensions: [d] }, source: 'visits_daily' })),
      ...SESSION_ROLLUP_DIMENSIONS.map((d) => ({
        q: { metrics: ['bounce_rate', 'session_duration', 'views_per_session'], dimensions: [d] },
        source: 'sessions_daily',
      })),
      { q: { metrics: ['sessions'], dimensions: ['session:exit_path'] }, source: 'sessions_daily' },
      { q: { metrics: ['bounce_rate', 'session_duration', 'views_per_session'] }, source: 'sessions_daily' },
      { q: { metrics: ['bounce_rate', 'session_duration', 'views_per_session'], dimensions: ['time:day'] }, source: 'sessions_daily' },
      {
        q: { metrics: ['bounce_rate', 'session_duration'], dimensions: ['time:hour'], date_range: ['2024-05-01', '2024-05-02'] },
        source: 'sessions_hourly',
      },
      { q: { metrics: ['visitors', 'sessions'], dimensions: ['geo:country'], filters: [['is_not', 'geo:country', ['US']]] }, source: 'visits_daily' },
      { q: { metrics: ['visitors', 'sessions'], dimensions: ['geo:country'], compare: 'previous_period' }, source: 'visits_daily' },
      // Conditions on one attribute without a breakdown read that attribute's rows.
      { q: { metrics: ['visitors', 'sessions'], filters: [['is', 'session:referrer_name', ['Google']]] }, source: 'visits_daily' },
      { q: { metrics: ['bounce_rate', 'session_duration'], filters: [['is_not', 'geo:country', ['US']]] }, source: 'sessions_daily' },
      {
        q: { metrics: ['bounce_rate', 'views_per_session'], dimensions: ['time:day'], filters: [['contains', 'session:entry_path', ['pri']]] },
        source: 'sessions_daily',
      },
    ];
    for (const { q, source } of cases) {
      const base = { project_id: project, ...range, ...q } as QueryInput;
      const rolled = await engine().run(Query.parse(base));
      expect(rolled.meta.sources, JSON.stringify(q)).toEqual([source]);
      const raw = await engine().run(Query.parse({ ...base, filters: [...(base.filters ?? []), ...RAW_VISITS] }));
      expect(raw.meta.sources.join(), JSON.stringify(q)).not.toMatch(/daily|hourly/);
      expect(rolled.results, JSON.stringify(q)).toEqual(raw.results);
    }
    // Known by construction (stats.fixtures.ts): 5 ended visits 28 April – 3 May (s0–s4), s0 and s2
    // bounced, 7 page views.
    const cards = await engine().run(Query.parse({ project_id: project, ...range, metrics: ['bounce_rate', 'views_per_session'] }));
    expect(cards.meta.sources).toEqual(['sessions_daily']);
    expect(cards.results[0]!.metrics).toEqual([40, 1.4]);
  });
});

describe('weekly and monthly rollups', () => {
  // Forces raw events and `sessions FINAL`: no rollup keeps profiles.
  const RAW_ANY: NonNullable<QueryInput['filters']> = [['is_not', 'profile:id', ['nobody']]];
  const APRIL_MAY: [string, string] = ['2024-04-01', '2024-05-31']; // two whole months (the last day is included)
  const WEEKS: [string, string] = ['2024-04-22', '2024-05-12']; // three whole weeks
  const MIXED: [string, string] = ['2024-04-27', '2024-05-07']; // 2 days, a week, 2 days
  const PAGE_VIEWS: NonNullable<QueryInput['filters']> = [['is', 'event:name', ['screen_view']]];

  it.each([PROJECT, 'proj_after'])('answer what raw events answer, months, weeks and days alike (%s)', async (project) => {
    const cases: Array<{ q: Partial<QueryInput>; sources: string[] }> = [
      { q: { date_range: APRIL_MAY, metrics: ['visitors', 'sessions', 'pageviews', 'events'] }, sources: ['events_monthly'] },
      { q: { date_range: WEEKS, metrics: ['visitors', 'sessions', 'pageviews'] }, sources: ['events_weekly'] },
      { q: { date_range: MIXED, metrics: ['visitors', 'sessions', 'events'] }, sources: ['events_weekly', 'events_daily'] },
      {
        q: { date_range: ['2024-04-15', '2024-05-31'], metrics: ['visitors', 'pageviews'], dimensions: ['time:month'] },
        sources: ['events_monthly', 'events_weekly', 'events_daily'],
      },
      {
        q: { date_range: ['2024-04-24', '2024-05-14'], metrics: ['visitors', 'sessions'], dimensions: ['time:week'] },
        sources: ['events_weekly', 'events_daily'],
      },
      { q: { date_range: APRIL_MAY, metrics: ['visitors', 'pageviews'], dimensions: ['event:path'], filters: PAGE_VIEWS }, sources: ['pages_monthly'] },
      {
        q: { date_range: MIXED, metrics: ['visitors', 'sessions', 'pageviews'], dimensions: ['event:path'], filters: PAGE_VIEWS },
        sources: ['pages_weekly', 'pages_daily'],
      },
      { q: { date_range: APRIL_MAY, metrics: ['visitors', 'sessions'], dimensions: ['geo:country'] }, sources: ['visits_monthly'] },
      { q: { date_range: WEEKS, metrics: ['visitors', 'sessions'], dimensions: ['session:referrer_name'] }, sources: ['visits_weekly'] },
      { q: { date_range: MIXED, metrics: ['visitors'], dimensions: ['device:browser'] }, sources: ['visits_weekly', 'visits_daily'] },
      { q: { date_range: MIXED, metrics: ['visitors', 'sessions'], filters: [['is', 'geo:country', ['DE']]] }, sources: ['visits_weekly', 'visits_daily'] },
    ];
    for (const { q, sources } of cases) {
      const base = { project_id: project, ...q } as QueryInput;
      const rolled = await engine().run(Query.parse(base));
      expect(rolled.meta.sources, JSON.stringify(q)).toEqual(sources);
      const raw = await engine().run(Query.parse({ ...base, filters: [...(base.filters ?? []), ...RAW_ANY] }));
      expect(raw.meta.sources.join(), JSON.stringify(q)).not.toMatch(/daily|weekly|monthly/);
      expect(rolled.results, JSON.stringify(q)).toEqual(raw.results);
    }
    // Known by construction (stats.fixtures.ts): 5 devices (d1 twice) started the 6 visits of
    // April and May (s0–s5), with 8 page views.
    const totals = await engine().run(Query.parse({ project_id: project, date_range: APRIL_MAY, metrics: ['visitors', 'sessions', 'pageviews'] }));
    expect(totals.results[0]!.metrics).toEqual([5, 6, 8]);
  });
});

describe('events by path', () => {
  it('keeps a projection ordered by path, built for the events stored before the upgrade too', async () => {
    const rs = await ch.query({
      query: `SELECT
          (SELECT count() FROM system.projections WHERE database = {db:String} AND table = 'events' AND name = 'events_by_path') AS defined,
          (SELECT sum(rows) FROM system.projection_parts WHERE database = {db:String} AND table = 'events' AND name = 'events_by_path' AND active) AS projected,
          (SELECT count() FROM events) AS stored`,
      query_params: { db: DB },
      format: 'JSONEachRow',
    });
    const [r] = await rs.json<{ defined: number; projected: number; stored: number }>();
    expect(Number(r!.defined)).toBe(1);
    expect(Number(r!.stored)).toBeGreaterThan(0);
    expect(Number(r!.projected)).toBe(Number(r!.stored));
    // ClickHouse reads it when it has fewer marks to read than the events around the page, which
    // on data this small it never has; bench:query measures it at 10M events (README).
  });
});

describe('project erase', () => {
  it('covers every table keyed by project (the quarantine excepted)', async () => {
    const rs = await ch.query({
      query: `SELECT DISTINCT table FROM system.columns WHERE database = {db:String} AND name = 'project_id'
        AND table IN (SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT IN ('View', 'MaterializedView')) ORDER BY table`,
      query_params: { db: DB },
      format: 'JSONEachRow',
    });
    const tables = (await rs.json<{ table: string }>()).map((r) => r.table).filter((t) => t !== 'quarantine');
    expect(await projectTables(ch)).toEqual(tables);
  });
});

describe('rollup tables', () => {
  const tables = async (names: string[]) => {
    const rs = await ch.query({
      query: `SELECT name, engine_full, (SELECT count() FROM system.tables WHERE database = {db:String} AND name = concat(t.name, '_mv')) AS views
        FROM system.tables AS t WHERE database = {db:String} AND name IN {names:Array(String)} ORDER BY name`,
      query_params: { db: DB, names },
      format: 'JSONEachRow',
    });
    return rs.json<{ name: string; engine_full: string; views: number }>();
  };

  it('keep uniq states in small granules (64 rows, or 32 KiB), each table with its view feeding it', async () => {
    const fine = await tables(['pages_daily', 'visits_daily']);
    expect(fine.map((t) => t.name)).toEqual(['pages_daily', 'visits_daily']);
    for (const t of fine) expect(t.engine_full).toContain('index_granularity = 64');
    const coarse = ['events', 'pages', 'visits'].map((f) => `${f}_periods`);
    const bytes = await tables(['events_daily', ...coarse]);
    expect(bytes.map((t) => t.name).sort()).toEqual(['events_daily', ...coarse].sort());
    for (const t of bytes) expect(t.engine_full).toContain('index_granularity_bytes = 32768');
    for (const t of [...fine, ...bytes]) expect(Number(t.views), t.name).toBe(1);
  });

  it('keep weeks and months of a family in one table (one part per insert), with views of the old names', async () => {
    const rs = await ch.query({
      query: `SELECT name, engine FROM system.tables WHERE database = {db:String} AND match(name, '_(weekly|monthly)(_mv)?$') ORDER BY name`,
      query_params: { db: DB },
      format: 'JSONEachRow',
    });
    const names = ['events', 'pages', 'visits'].flatMap((f) => [`${f}_monthly`, `${f}_weekly`]);
    expect(await rs.json()).toEqual(names.map((name) => ({ name, engine: 'View' })));
  });

  // Guards 013: a 40,000-row insert (≈ 12 MB) was written as a wide part of ≈ 90 files, which
  // on this disk cost ≈ 20 % more CPU per row than a compact one.
  it('keep events parts compact up to 64 MiB on an upgraded install, a 40,000-row insert included', async () => {
    const migration = loadMigrations().find((m) => m.version === 13)!;
    for (const sql of migration.statements) await ch.command({ query: sql.replaceAll('{database}', DB) }); // runs again
    const rs = await ch.query({
      query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
      query_params: { db: DB, t: 'events' },
      format: 'JSONEachRow',
    });
    expect(((await rs.json()) as Array<{ engine_full: string }>)[0]!.engine_full).toContain('min_bytes_for_wide_part = 67108864');
    const big = emptyBatch();
    for (let i = 0; i < 40_000; i++) big.events.push(makeEvent(9_000_000 + i, { project_id: 'proj_compact' }));
    await createWriter(ch).write(big, 'compact-parts');
    const parts = await ch.query({
      query: 'SELECT part_type, rows FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active AND rows = 40000',
      query_params: { db: DB, t: 'events' },
      format: 'JSONEachRow',
    });
    expect(await parts.json()).toEqual([{ part_type: 'Compact', rows: 40000 }]);
  });
});
