// Reading `events` jobs into the insert's compact lines (events.job.ts). The bugs these guard
// against: a version 3 job read under the wrong column list (values shifted into other columns
// after an upgrade), a version 2 job queued before the upgrade no longer read, a damaged payload
// stored in part, and a job of a newer version failed for good instead of left for a retry.
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { EventsJob, eventsJobV2 } from '../../shared/jobs.ts';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { encodeBatch } from '../engines/wal/batch-format.ts';
import { type ColumnLists, TABLE_COLUMNS, UnknownColumnsError, WAL_COLUMNS } from '../engines/wal/column-lists.ts';
import { versionWith } from '../engines/wal/wal.fixtures.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { storableRow } from '../store/storable.ts';
import { readJobChunk } from './events.job.ts';

const head = (rows: number) => ({ batchId: 'b-1', node: 'n', createdAt: 1, rows });
/** As BullMQ carries a payload: through JSON. */
const viaRedis = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function batch(n: number): WriteBatch {
  const b = emptyBatch();
  for (let i = 0; i < n; i++) b.events.push(makeEvent(i, { properties: { 'a.b': String(i) }, latitude: i % 2 ? null : 1.5 }));
  b.groups.push({ project_id: 'p', id: 'g', type: 't', name: 'n', properties: {}, updated_at: '2026-01-01 00:00:00.000' });
  b.profiles.push({ op: 'increment', project_id: 'p', profile_id: 'u', at: '2026-01-01 00:00:00.000', property: 'x', by: 1 });
  return b;
}
const v3 = (b: WriteBatch, rows: number, lists?: ColumnLists) => viaRedis({ v: 3 as const, ...head(rows), batch: encodeBatch(b, lists) });
const lines = (b: WriteBatch, columns: readonly string[]) => b.events.map((e) => `${JSON.stringify(storableRow(e, columns))}\n`).join('');
const text = (c: { text: Buffer[] }) => Buffer.concat(c.text).toString();

describe('reading events jobs', () => {
  it('hands a version 3 job to the insert as the lines it carries, every kind, with its row count', () => {
    const b = batch(3);
    const read = readJobChunk(v3(b, 5), false);
    expect(read.rows).toBe(5);
    expect(read.chunk.tables.events).toHaveLength(1);
    expect(read.chunk.tables.events[0]).toMatchObject({ columns: TABLE_COLUMNS.events, rows: 3 });
    expect(text(read.chunk.tables.events[0]!)).toBe(lines(b, TABLE_COLUMNS.events));
    expect(read.chunk.tables.groups[0]!.rows).toBe(1);
    expect(read.chunk.profiles).toEqual(b.profiles);
  });

  it('reads versions 1 and 2 (queued before the upgrade) to exactly the lines version 3 carries', () => {
    const b = batch(4);
    const now = readJobChunk(v3(b, 6), false).chunk;
    expect(readJobChunk(viaRedis(eventsJobV2(head(6), b)), false).chunk).toEqual(now);
    expect(readJobChunk(viaRedis({ v: 1, ...head(6), batch: b }), false).chunk).toEqual(now);
  });

  it('reads a job queued before an upgrade under the columns it was written with (added, moved, removed)', () => {
    const b = batch(2);
    const old = v3(b, 4);
    const added = versionWith([...TABLE_COLUMNS.events.slice(0, 4), 'extra', ...TABLE_COLUMNS.events.slice(4)]);
    expect(readJobChunk(old, false, added).chunk.tables.events[0]!.columns).toEqual(TABLE_COLUMNS.events);
    expect(text(readJobChunk(old, false, added).chunk.tables.events[0]!)).toBe(lines(b, TABLE_COLUMNS.events));
    const without = TABLE_COLUMNS.events.filter((c) => c !== 'title');
    const dropped = readJobChunk(old, false, versionWith(without)).chunk.tables.events[0]!;
    expect(dropped.columns).toEqual(without);
    expect(text(dropped)).toBe(lines(b, without));
    // A job queued by the new version names its list, and reads back under it.
    const moved = versionWith([...TABLE_COLUMNS.events].reverse());
    const queuedNew = readJobChunk(v3(b, 4, moved), false, moved).chunk.tables.events[0]!;
    expect(queuedNew.columns).toEqual(moved.current.events);
    expect(text(queuedNew)).toBe(lines(b, moved.current.events));
  });

  it('refuses, for a retry, a job written with columns this version does not know (a newer node queued it)', () => {
    const newer = v3(batch(1), 3, versionWith([...TABLE_COLUMNS.events, 'extra']));
    expect(() => readJobChunk(newer, true, WAL_COLUMNS)).toThrow(UnknownColumnsError);
    let thrown: unknown;
    try {
      readJobChunk(newer, true);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).not.toBeInstanceOf(UnrecoverableError);
  });

  it('fails a damaged version 3 payload outright: nothing of it is stored', () => {
    const good = () => v3(batch(2), 4);
    expect(() => readJobChunk({ ...good(), rows: 5 }, true)).toThrow(UnrecoverableError);
    expect(() => readJobChunk({ ...good(), batch: 42 }, true)).toThrow(UnrecoverableError);
    expect(() => readJobChunk({ ...good(), batchId: 'no spaces' }, true)).toThrow(UnrecoverableError);
    const cut = good();
    expect(() => readJobChunk({ ...cut, batch: cut.batch.slice(0, -40) }, true)).toThrow(UnrecoverableError);
    expect(() => readJobChunk({ ...cut, batch: `~{"table":"nope","rows":1,"bytes":3}\nxx\n` }, true)).toThrow(UnrecoverableError);
    expect(readJobChunk({ v: 3, ...head(0), batch: '' }, true).rows).toBe(0);
  });

  it('salvages an invalid version 1 payload row by row only when asked (the worker has a quarantine)', () => {
    const b = batch(2);
    const bad = { v: 1, ...head(4), batch: { ...b, events: [{ id: 'nope' }, ...b.events.slice(1)] } };
    expect(EventsJob.safeParse(bad).success).toBe(false);
    expect(() => readJobChunk(bad, false)).toThrow(UnrecoverableError);
    const read = readJobChunk(bad, true);
    expect(read.rows).toBe(3); // one event, the group, the profile op
    expect(read.invalid.map((r) => [r.table, r.index])).toEqual([['events', 0]]);
    expect(text(read.chunk.tables.events[0]!)).toBe(lines({ ...b, events: b.events.slice(1) }, TABLE_COLUMNS.events));
  });
});
