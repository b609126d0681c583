/**
 * `npm run bench:query`: how fast the query model answers the dashboard on a big project.
 *
 * 1. Seeds a realistic stream (bench/query-data.ts: default 1M events over 90 days, ~5k
 *    visitors; `--events 10000000` for the full run, ~50k visitors) into chDB through the real
 *    writer (dedup tokens, rollup views), on the schema as it was before the query-speed
 *    migrations (001–006), and reports seeding rows/s.
 * 2. Baseline: times the overview page's queries (shared/overview.ts) and filtered breakdowns,
 *    cold (no result cache: every run reaches ClickHouse) — p50/p95 per query and for the whole
 *    overview run the way the page runs it (all at once).
 * 3. Applies the remaining migrations to the seeded data, as an existing install upgrading
 *    would, and times the same queries again: the ratio is what the migrations bought.
 * 4. Warm: the same overview through the result cache.
 * Reports chDB disk bytes per million events, prints a table and saves everything to
 * bench/results/query-<events>-<time>.json.
 *
 * Options: --events N (1e6) --days D (90) --visitors V (events/200) --runs R (7) --tz Zone (UTC)
 *          --dir PATH (a fresh temp folder; kept with --keep) --baseline-only --skip-baseline --seed-only
 *          --cache PATH: keep a copy of the seeded folder (schema 001–006) under PATH, keyed by
 *          events/days/visitors and a hash of the generator and of migrations 001–006, and
 *          start later runs from a copy of it instead of seeding
 *          (the seeding figures are those of the run that seeded it).
 *          --now-back-days N: "now" N days before the data ends (default 0: an hour before), for
 *          ranges that do not line up with the data's last day (e.g. a 30-day range ending
 *          mid-month, read as weeks and days instead of one month).
 * CPU-heavy: seeding 10M events takes minutes of both cores. Develop with the default 1M.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createMemoryCache } from '../server/engines/cache.memory.ts';
import { createQueryEngine, type QueryEngine } from '../server/stats/query-engine.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../server/store/clickhouse.ts';
import { createWriter } from '../server/store/writer.ts';
import { overviewQueries, PANELS, panelQuery, seriesQuery, type View, viewQuery } from '../shared/overview.ts';
import { Query, type QueryInput } from '../shared/query.ts';
import { visitStream } from './query-data.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '90' },
    visitors: { type: 'string' },
    runs: { type: 'string', default: '7' },
    tz: { type: 'string', default: 'UTC' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'baseline-only': { type: 'boolean', default: false },
    'skip-baseline': { type: 'boolean', default: false },
    'seed-only': { type: 'boolean', default: false },
    cache: { type: 'string' },
    'now-back-days': { type: 'string', default: '0' },
  },
});
const EVENTS = Number(args.events);
const DAYS = Number(args.days);
const VISITORS = Number(args.visitors ?? Math.max(100, Math.round(EVENTS / 200)));
const RUNS = Number(args.runs);
const PROJECT = 'bench';
const DB = 'bench';
/** Data ends at the next UTC midnight (or where a cached seed's data ends); "now" is an hour before it, so 30d holds 30 days of data. */
let END = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1);
const BACK = Number(args['now-back-days']) * 86_400_000;
let NOW = END - 3_600_000 - BACK;
const MIGRATIONS = fileURLToPath(new URL('../db/clickhouse', import.meta.url));
const BASELINE_LAST = 6; // 001–006: the schema before the query-speed migrations (007+)

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  return { p50: round(at(50)), p95: round(at(95)), min: round(s[0]!), max: round(s[s.length - 1]!) };
};
const round = (n: number) => Math.round(n * 10) / 10;
const log = (...a: unknown[]) => console.log(...a);

/** A folder holding only the migrations up to `last` (for the baseline schema). */
function migrationsUpTo(last: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-migrations-'));
  for (const f of readdirSync(MIGRATIONS)) if (Number(f.slice(0, 3)) <= last) cpSync(path.join(MIGRATIONS, f), path.join(dir, f));
  return dir;
}

/** What a cached seed depends on besides its options: the generator and the schema it was written with. */
function seedVersion(migrations: string): string {
  const h = createHash('sha256').update(readFileSync(fileURLToPath(new URL('./query-data.ts', import.meta.url))));
  for (const f of readdirSync(migrations).sort()) h.update(f).update(readFileSync(path.join(migrations, f)));
  return h.digest('hex').slice(0, 10);
}

async function seed(ch: ClickHouseClient) {
  const writer = createWriter(ch);
  let rows = 0;
  let sessions = 0;
  let genMs = 0;
  const t0 = performance.now();
  let g = performance.now();
  let n = 0;
  for (const batch of visitStream({ events: EVENTS, days: DAYS, visitors: VISITORS, end: END, projectId: PROJECT })) {
    genMs += performance.now() - g;
    await writer.write(batch, `bench-seed-${n++}`);
    rows += batch.events.length;
    sessions += batch.sessions.length;
    if (n % 10 === 0) log(`  seeded ${rows.toLocaleString()} events…`);
    g = performance.now();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    events: rows,
    sessions,
    seconds: round(seconds),
    rowsPerSecond: Math.round((rows + sessions) / seconds),
    eventsPerSecond: Math.round(rows / seconds),
    generateSeconds: round(genMs / 1000),
  };
}

/** The queries timed: the overview as the page opens it, its other tabs, and filtered views. */
function suite(tz: string) {
  const view: View = { range: '30d', filters: [], compare: 'previous_period', ...(tz !== 'UTC' && { timezone: tz }) };
  const overview = overviewQueries(PROJECT, view);
  const tabs: Record<string, QueryInput> = {};
  for (const [group, panels] of Object.entries(PANELS)) for (const p of panels.slice(1)) tabs[`tab ${group}/${p.id}`] = panelQuery(PROJECT, view, p);
  const filtered: Record<string, QueryInput> = {};
  const byCountry: View = { ...view, filters: [['is', 'geo:country', ['DE']]] };
  for (const [k, q] of Object.entries(overviewQueries(PROJECT, byCountry))) filtered[`country=DE ${k}`] = q;
  const google: View = { ...view, filters: [['is', 'session:referrer_name', ['Google']]] };
  filtered['source=Google pages'] = panelQuery(PROJECT, google, PANELS.pages[0]!);
  filtered['source=Google cards'] = viewQuery(PROJECT, google, { metrics: ['visitors', 'sessions', 'pageviews', 'bounce_rate'] });
  const pricing: View = { ...view, filters: [['is', 'event:path', ['/pricing']]] };
  filtered['page=/pricing sources'] = panelQuery(PROJECT, pricing, PANELS.sources[0]!);
  filtered['page=/pricing cards'] = viewQuery(PROJECT, pricing, { metrics: ['visitors', 'sessions', 'bounce_rate'] });
  filtered['goal=signup conversion by source'] = viewQuery(
    PROJECT,
    { ...view, filters: [['is', 'event:name', ['signup']]] },
    {
      metrics: ['visitors', 'conversion_rate'],
      dimensions: ['session:referrer_name'],
      limit: 10,
      compare: false,
    },
  );
  filtered['plan=pro events by name'] = viewQuery(
    PROJECT,
    { ...view, filters: [['is', 'event:props:plan', ['pro']]] },
    { metrics: ['events'], dimensions: ['event:name'], compare: false },
  );
  filtered['7d series'] = seriesQuery(PROJECT, { ...view, range: '7d' });
  filtered['all-time series'] = seriesQuery(PROJECT, { ...view, range: 'all' });
  filtered['today by hour'] = seriesQuery(PROJECT, { ...view, range: 'today' });
  return { overview, tabs, filtered };
}

async function time(engine: QueryEngine, q: QueryInput): Promise<{ ms: number; sources: string[] }> {
  const parsed = Query.parse(q);
  const t = performance.now();
  const r = await engine.run(parsed);
  return { ms: performance.now() - t, sources: r.meta.sources };
}

async function measure(ch: ClickHouseClient, label: string, tz: string, rollups?: string[], overviewOnly = false, batch = true) {
  const engine = createQueryEngine({ ch, now: () => NOW, rollups, batch });
  const { overview, tabs, filtered } = suite(tz);
  // chDB runs in this process: its CPU time is the process's, a figure the machine's load
  // disturbs far less than wall time (which waits for the cores other processes hold).
  const cpuRuns: number[] = [];
  const whole = async () => {
    const c = process.cpuUsage();
    const t = performance.now();
    await Promise.all(Object.values(overview).map((q) => engine.run(Query.parse(q))));
    const cpu = process.cpuUsage(c);
    cpuRuns.push((cpu.user + cpu.system) / 1000);
    return performance.now() - t;
  };
  const first = await whole(); // the first overview after seeding or migrating
  cpuRuns.length = 0;
  const overviewRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) overviewRuns.push(await whole());
  const perQuery: Record<string, ReturnType<typeof stats> & { sources: string }> = {};
  for (const [name, q] of Object.entries({ ...prefix('overview ', overview), ...(!overviewOnly && { ...tabs, ...filtered }) })) {
    const xs: number[] = [];
    let sources: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await time(engine, q);
      xs.push(r.ms);
      sources = r.sources;
    }
    perQuery[name] = { ...stats(xs), sources: sources.join('+') };
  }
  const result = { label, firstOverviewMs: round(first), overview: stats(overviewRuns), overviewCpuMs: stats(cpuRuns), perQuery };
  log(
    `\n${label}: whole overview p50 ${result.overview.p50} ms, p95 ${result.overview.p95} ms (first ${result.firstOverviewMs} ms); CPU time p50 ${result.overviewCpuMs.p50} ms`,
  );
  for (const [k, v] of Object.entries(perQuery)) log(`  ${k.padEnd(44)} p50 ${String(v.p50).padStart(7)}  p95 ${String(v.p95).padStart(7)}  ${v.sources}`);
  return result;
}

async function warm(ch: ClickHouseClient, tz: string) {
  const engine = createQueryEngine({ ch, now: () => NOW, cache: createMemoryCache(), batch: true });
  const { overview } = suite(tz);
  await Promise.all(Object.values(overview).map((q) => engine.run(Query.parse(q))));
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const rs = await Promise.all(Object.values(overview).map((q) => engine.run(Query.parse(q))));
    xs.push(performance.now() - t);
    if (!rs.every((r) => r.meta.cached)) throw new Error('warm run missed the cache');
  }
  const s = stats(xs);
  log(`\nwarm (result cache): whole overview p50 ${s.p50} ms, p95 ${s.p95} ms`);
  return s;
}

async function disk(ch: ClickHouseClient, events: number) {
  const rs = await ch.query({
    query: `SELECT table, sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts WHERE database = {db:String} AND active GROUP BY table ORDER BY bytes DESC
      SETTINGS output_format_json_quote_64bit_integers = 0`,
    query_params: { db: DB },
    format: 'JSONEachRow',
  });
  const tables = await rs.json<{ table: string; bytes: number; rows: number }>();
  const total = tables.reduce((n, t) => n + t.bytes, 0);
  return { totalBytes: total, bytesPerMillionEvents: Math.round((total / events) * 1e6), tables };
}

const prefix = (p: string, o: Record<string, QueryInput>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}${k}`, v]));

const loadAtStart = os.loadavg().map(round);

async function main() {
  const dir = args.dir ?? mkdtempSync(path.join(os.tmpdir(), 'lp-bench-query-'));
  mkdirSync(dir, { recursive: true });
  log(`bench:query — ${EVENTS.toLocaleString()} events over ${DAYS} days, ${VISITORS.toLocaleString()} visitors, ${RUNS} runs, tz ${args.tz}, chDB in ${dir}`);
  const chDir = path.join(dir, 'ch');
  const baselineMigrations = migrationsUpTo(BASELINE_LAST);
  const cached = args.cache ? path.join(args.cache, `seed-${EVENTS}-${DAYS}-${VISITORS}-${seedVersion(baselineMigrations)}`) : undefined;
  let seeding: Awaited<ReturnType<typeof seed>>;
  let ch: ClickHouseClient;
  if (cached && existsSync(path.join(cached, 'seed.json'))) {
    const meta = JSON.parse(readFileSync(path.join(cached, 'seed.json'), 'utf8')) as { end: number; seeding: typeof seeding };
    ({ seeding } = meta);
    END = meta.end;
    NOW = END - 3_600_000 - BACK;
    rmSync(chDir, { recursive: true, force: true });
    cpSync(path.join(cached, 'ch'), chDir, { recursive: true });
    log(`reusing the seeded folder ${cached} (seeded at ${seeding.rowsPerSecond.toLocaleString()} rows/s; data ends ${new Date(END).toISOString()})`);
    ch = await createClickhouse({ kind: 'chdb', dir: chDir, database: DB });
  } else {
    ch = await createClickhouse({ kind: 'chdb', dir: chDir, database: DB });
    await migrateClickhouse(ch, DB, baselineMigrations);
    log('seeding…');
    seeding = await seed(ch);
    log(
      `seeded ${seeding.events.toLocaleString()} events + ${seeding.sessions.toLocaleString()} sessions in ${seeding.seconds} s: ${seeding.rowsPerSecond.toLocaleString()} rows/s`,
    );
    if (cached) {
      // A consistent copy needs the folder closed (chDB holds a lock and flushes on close).
      await ch.close();
      rmSync(cached, { recursive: true, force: true });
      mkdirSync(cached, { recursive: true });
      cpSync(chDir, path.join(cached, 'ch'), { recursive: true });
      writeFileSync(path.join(cached, 'seed.json'), JSON.stringify({ end: END, seeding }));
      log(`kept a copy of the seeded folder in ${cached}`);
      ch = await createClickhouse({ kind: 'chdb', dir: chDir, database: DB });
    }
  }
  try {
    if (args['seed-only']) return;
    const baselineDisk = await disk(ch, seeding.events);
    // The baseline reads only the rollups its schema has (the per-name ones of 005).
    const baseline = args['skip-baseline'] ? undefined : await measure(ch, 'baseline (migrations 001–006)', args.tz!, ['events']);
    let optimized: Awaited<ReturnType<typeof measure>> | undefined;
    const stages: Array<Awaited<ReturnType<typeof measure>>> = [];
    let migrate: { applied: string[]; seconds: number } | undefined;
    let optimizedDisk: Awaited<ReturnType<typeof disk>> | undefined;
    if (!args['baseline-only']) {
      const t = performance.now();
      const r = await migrateClickhouse(ch, DB);
      migrate = { applied: r.applied, seconds: round((performance.now() - t) / 1000) };
      log(`\nmigrated the seeded data: ${r.applied.join(', ') || '(nothing new)'} in ${migrate.seconds} s`);
      optimizedDisk = await disk(ch, seeding.events);
      // What each step bought, on the same data: the overview reading only the rollups up to 007.
      stages.push(await measure(ch, 'page rollups only (005 + 007)', args.tz!, ['events', 'pages'], true));
      stages.push(await measure(ch, 'daily rollups only (no weekly/monthly reads, 010)', args.tz!, ['events', 'pages', 'visits', 'sessions'], true));
      stages.push(await measure(ch, 'all migrations, statements one at a time (no batching)', args.tz!, undefined, true, false));
      optimized = await measure(ch, 'optimized (all migrations)', args.tz!);
    }
    const warmRuns = await warm(ch, args.tz!);
    const ratios =
      optimized &&
      baseline &&
      Object.fromEntries(
        Object.entries(baseline.perQuery).map(([k, b]) => [
          k,
          { p50: round(b.p50 / optimized!.perQuery[k]!.p50), p95: round(b.p95 / optimized!.perQuery[k]!.p95) },
        ]),
      );
    const result = {
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, loadAtStart, load: os.loadavg().map(round) },
      options: { events: EVENTS, days: DAYS, visitors: VISITORS, runs: RUNS, tz: args.tz, nowBackDays: BACK / 86_400_000 },
      seeding,
      disk: { baseline: baselineDisk, optimized: optimizedDisk },
      migrate,
      baseline,
      stages,
      optimized,
      speedup: optimized &&
        baseline && {
          overviewP50: round(baseline.overview.p50 / optimized.overview.p50),
          overviewP95: round(baseline.overview.p95 / optimized.overview.p95),
          overviewCpuP50: round(baseline.overviewCpuMs.p50 / optimized.overviewCpuMs.p50),
          perQuery: ratios,
        },
      warm: warmRuns,
    };
    log(
      `\ndisk: ${(baselineDisk.bytesPerMillionEvents / 2 ** 20).toFixed(1)} MiB per million events (baseline)${optimizedDisk ? `, ${(optimizedDisk.bytesPerMillionEvents / 2 ** 20).toFixed(1)} MiB (optimized)` : ''}`,
    );
    if (result.speedup) {
      log(
        `overview speed-up from the migrations: p50 ×${result.speedup.overviewP50}, p95 ×${result.speedup.overviewP95}, CPU time ×${result.speedup.overviewCpuP50}`,
      );
    }
    log(`load average ${loadAtStart.join(' ')} at the start, ${result.machine.load.join(' ')} at the end (${result.machine.cpus} cores)`);
    const out = fileURLToPath(new URL(`./results/query-${EVENTS}-${result.when.replace(/[:.]/g, '-')}.json`, import.meta.url));
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    log(`saved ${path.relative(process.cwd(), out)}`);
  } finally {
    await ch.close();
    rmSync(baselineMigrations, { recursive: true, force: true });
    if (!args.keep && !args.dir) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
