// A write-ahead log replayed after an upgrade that changed a table's columns (real chDB, own
// folder). The new version's lists are injected (wal/column-lists.ts) and its migration is
// played by hand: `events` gains a column with a default. Lines written before the change are
// inserted under the columns they were written with, so every value lands in its own column and
// the added one takes its default; a chunk spanning the change (a list reordered since) is
// stored once, its retry skipped by the same tokens.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { TABLE_COLUMNS } from '../engines/wal/column-lists.ts';
import { chunkOfRecords, encodeRecord } from '../engines/wal/record.ts';
import { versionWith } from '../engines/wal/wal.fixtures.ts';
import { makeEvent } from './clickhouse.fixtures.ts';
import { migrateClickhouse } from './clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from './clickhouse.ts';
import { createWriter } from './writer.ts';

const DB = 'lp_writer_columns';
let dir: string;
let ch: ClickHouseClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-writer-columns-'));
  ch = await createClickhouse({ kind: 'chdb', dir, database: DB });
  await migrateClickhouse(ch, DB);
  await ch.command({ query: "ALTER TABLE events ADD COLUMN extra String DEFAULT 'unset'" });
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const batchOf = (project: string, ...ids: number[]): WriteBatch => ({ ...emptyBatch(), events: ids.map((i) => makeEvent(i, { project_id: project })) });

async function stored(project: string) {
  const rs = await ch.query({
    query: 'SELECT id, name, path, title, created_at, duration, properties, extra FROM events WHERE project_id = {p:String} ORDER BY created_at',
    query_params: { p: project },
    format: 'JSONEachRow',
  });
  return rs.json<Record<string, unknown>>();
}
const expected = (batch: WriteBatch, extra: (i: number) => string) =>
  batch.events.map((e, i) => ({
    id: e.id,
    name: e.name,
    path: e.path,
    title: e.title,
    created_at: e.created_at,
    duration: e.duration,
    properties: e.properties,
    extra: extra(i),
  }));

describe('WAL replay across a column change', () => {
  it('inserts lines written before a column was added under their own columns; the added one takes its default', async () => {
    const batch = batchOf('p_added', 1, 2, 3);
    const log = encodeRecord(batch, 3, ['p_added:x']);
    const added = [...TABLE_COLUMNS.events.slice(0, 3), 'extra', ...TABLE_COLUMNS.events.slice(3)];
    await createWriter(ch).writeChunk(chunkOfRecords(log, versionWith(added)), 'chunk-added');
    expect(await stored('p_added')).toEqual(expected(batch, () => 'unset'));
  });

  it('stores a chunk spanning a reorder once, each record under the columns it was written with', async () => {
    const moved = [...TABLE_COLUMNS.events, 'extra'].reverse();
    const next = versionWith(moved);
    const before = batchOf('p_moved', 10, 11);
    const after = { ...emptyBatch(), events: [makeEvent(12, { project_id: 'p_moved' })] };
    const withExtra = { ...after, events: after.events.map((e) => ({ ...e, extra: 'set' })) };
    const log = Buffer.concat([encodeRecord(before, 2), encodeRecord(withExtra as WriteBatch, 1, undefined, next)]);
    const writer = createWriter(ch);
    await writer.writeChunk(chunkOfRecords(log, next), 'chunk-moved');
    await writer.writeChunk(chunkOfRecords(log, next), 'chunk-moved');
    expect(await stored('p_moved')).toEqual([...expected(before, () => 'unset'), ...expected(after, () => 'set')]);
  });
});
