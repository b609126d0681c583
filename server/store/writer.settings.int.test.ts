/**
 * The writer's `parallelParsing` option reaches chDB's inserts (`INSERT_PARALLEL_PARSING`, off
 * in the embedded shape). ClickHouse's parallel parser hands an insert's text to a job of its
 * own on a local thread pool; without it the insert parses on its own thread. chDB counts pool
 * jobs process-wide (`system.events`), so each way is inserted a few times and the fewest jobs
 * an insert took are compared: background merges only ever add jobs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRowsToChunk, emptyChunk } from '../engines/wal/batch-format.ts';
import { makeEvents } from './clickhouse.fixtures.ts';
import { migrateClickhouse } from './clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from './clickhouse.ts';
import { createWriter } from './writer.ts';

let dir: string;
let ch: ClickHouseClient;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-writer-settings-'));
  ch = await createClickhouse({ kind: 'chdb', dir, database: 'ws' });
  await migrateClickhouse(ch, 'ws');
});
afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function poolJobs(): Promise<number> {
  const rows = await ch
    .query({ query: "SELECT value FROM system.events WHERE event = 'LocalThreadPoolJobs'", format: 'JSONEachRow' })
    .then((r) => r.json<{ value: string }>());
  return Number(rows[0]?.value ?? 0);
}

/** The fewest local pool jobs one chunk's insert took, over `n` inserts through a writer with `parallelParsing`. */
async function fewestJobs(parallelParsing: boolean | undefined, n = 4): Promise<number> {
  const writer = createWriter(ch, undefined, { parallelParsing });
  let fewest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const chunk = emptyChunk();
    addRowsToChunk({ events: makeEvents(2000).map((r) => ({ ...r, id: randomUUID() })), sessions: [], groups: [], replays: [], profiles: [] }, chunk);
    const before = await poolJobs();
    await writer.writeChunk(chunk, `settings-${randomUUID()}`);
    fewest = Math.min(fewest, (await poolJobs()) - before);
  }
  return fewest;
}

describe('writer: input_format_parallel_parsing', () => {
  it('an insert with parallelParsing off runs no parser job; on or unset (ClickHouse default) it does', async () => {
    const off = await fewestJobs(false);
    expect(await fewestJobs(true)).toBeGreaterThan(off);
    expect(await fewestJobs(undefined)).toBeGreaterThan(off);
  }, 60_000);
});
