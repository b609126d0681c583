/**
 * For the query-engine integration tests (query-engine.*.int.test.ts): a chDB store in a temp
 * folder, migrated and seeded with stats.fixtures.ts' data set (plus a second project whose rows
 * must never leak into the first's answers), and a query engine over it whose "now" is fixed.
 * Call `withSeededEngine()` at the top of a test file: it registers the beforeAll/afterAll hooks.
 * Test support only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Query, type QueryInput, type QueryResponse } from '../../shared/query.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { createQueryEngine, type QueryEngine } from './query-engine.ts';
import { PROJECT, statsBatch } from './stats.fixtures.ts';

const DB = 'lp_stats';
export const NOW = Date.parse('2024-05-04T12:00:00Z');
/** 1–3 May 2024, whole days. */
export const MAY = ['2024-05-01', '2024-05-03'] as [string, string];

export interface SeededEngine {
  /** The seeded store (set once beforeAll has run). */
  ch: ClickHouseClient;
  /** A query engine over it, now = NOW, no cache. */
  engine: QueryEngine;
}

export function withSeededEngine() {
  const seeded = {} as SeededEngine;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lp-stats-int-'));
    seeded.ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: DB });
    await migrateClickhouse(seeded.ch, DB);
    await createWriter(seeded.ch).write(statsBatch(), 'stats-seed');
    // A second project's rows must never leak into the first's answers.
    await createWriter(seeded.ch).write(statsBatch('proj_other'), 'stats-seed-other');
    seeded.engine = createQueryEngine({ ch: seeded.ch, now: () => NOW });
  });
  afterAll(async () => {
    await seeded.ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a query on PROJECT over MAY unless it says otherwise. */
  const run = (q: Partial<QueryInput>): Promise<QueryResponse> => seeded.engine.run(Query.parse({ project_id: PROJECT, date_range: MAY, ...q }));
  /** The single row of an answer without dimensions. */
  const totals = async (q: Partial<QueryInput>) => (await run(q)).results[0]!.metrics;
  /** `{dimension value: first metric}` of a one-dimension breakdown. */
  const breakdown = async (q: Partial<QueryInput>) => Object.fromEntries((await run(q)).results.map((r) => [r.dimensions.join('|'), r.metrics[0]]));
  return { seeded, run, totals, breakdown };
}
