// The page rollups (007_page_rollups.sql) on an existing install: data written before the
// migration is backfilled, data written after flows through the views, a retried batch is
// counted once, and the rollups answer exactly what raw events answer.
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Query, type QueryInput } from '../../shared/query.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { createQueryEngine } from './query-engine.ts';
import { PROJECT, statsBatch } from './stats.fixtures.ts';

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
  expect((await migrateClickhouse(ch, DB)).applied).toContain('007_page_rollups.sql');
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
