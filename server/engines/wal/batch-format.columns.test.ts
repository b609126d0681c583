// Format-2 WAL lines carry values by position, in the column list their section header names
// (wal/column-lists.ts; none: the table's first list), and a log written by one version is
// replayed by the next after an upgrade. These tests write records with one version's column
// lists (injected) and read them with another's: lines come back under the columns they were
// written with, whatever was added, moved or removed since.
import { describe, expect, it } from 'vitest';
import { emptyBatch, type WriteBatch } from '../../../shared/rows.ts';
import { makeEvent } from '../../store/clickhouse.fixtures.ts';
import { storableRow } from '../../store/storable.ts';
import { COMPACT_TABLES, columnsId, TABLE_COLUMNS, WAL_COLUMNS, WRITTEN_COLUMNS } from './column-lists.ts';
import { chunkOfRecords, decodeRecords, encodeRecord } from './record.ts';
import { versionWith } from './wal.fixtures.ts';

// The lists every format-2 log written before section headers named their list holds.
const FIRST_LISTS = {
  events:
    'id,project_id,name,device_id,profile_id,session_id,created_at,received_at,path,origin,title,referrer,referrer_name,referrer_type,utm_source,utm_medium,utm_campaign,utm_term,utm_content,revenue,duration,properties,groups,country,region,city,latitude,longitude,os,os_version,browser,browser_version,device,brand,model,sdk_name,sdk_version',
  sessions:
    'id,project_id,device_id,profile_id,created_at,ended_at,duration,event_count,screen_view_count,is_bounce,entry_path,entry_origin,exit_path,exit_origin,referrer,referrer_name,referrer_type,utm_source,utm_medium,utm_campaign,utm_term,utm_content,revenue,country,region,city,os,os_version,browser,browser_version,device,brand,model',
  groups: 'project_id,id,type,name,properties,updated_at',
  replays: 'project_id,session_id,device_id,chunk_index,started_at,ended_at,events_count,is_full_snapshot,payload',
};

const batchOf = (...ids: number[]): WriteBatch => ({ ...emptyBatch(), events: ids.map((i) => makeEvent(i)) });
const linesOf = (batch: WriteBatch, columns: readonly string[]) => batch.events.map((e) => `${JSON.stringify(storableRow(e, columns))}\n`).join('');

describe('WAL column lists', () => {
  it.each(Object.entries(FIRST_LISTS))('%s: the first list stays the one logs without ids were written with', (table, columns) => {
    expect(WRITTEN_COLUMNS[table as keyof typeof WRITTEN_COLUMNS][0]!.join(','), 'never change or remove a written list').toBe(columns);
  });

  it.each(COMPACT_TABLES)('%s: the current list is known, and ids tell the lists apart', (table) => {
    const known = WRITTEN_COLUMNS[table].map((c) => c.join(','));
    expect(known, 'shared/rows.ts changed this table: append its new list to WRITTEN_COLUMNS').toContain(TABLE_COLUMNS[table].join(','));
    expect(new Set(WRITTEN_COLUMNS[table].map(columnsId)).size).toBe(known.length);
  });

  it('writes no list id while the current lists are the first ones (nothing added to a record)', () => {
    expect(encodeRecord(batchOf(1), 1).toString()).not.toContain('"cols"');
    expect(encodeRecord(batchOf(1), 1, undefined, versionWith([...TABLE_COLUMNS.events, 'extra'])).toString()).toContain(
      `"cols":"${columnsId([...TABLE_COLUMNS.events, 'extra'])}"`,
    );
  });

  it('reads a log written before a column was added under the columns it was written with', () => {
    const batch = batchOf(1, 2);
    const old = encodeRecord(batch, 2, ['p:a']);
    const next = versionWith([...TABLE_COLUMNS.events.slice(0, 5), 'extra', ...TABLE_COLUMNS.events.slice(5)]);
    const chunk = chunkOfRecords(old, next);
    expect(chunk.tables.events).toHaveLength(1);
    expect(chunk.tables.events[0]!.columns).toEqual(TABLE_COLUMNS.events);
    expect(Buffer.concat(chunk.tables.events[0]!.text).toString()).toBe(linesOf(batch, TABLE_COLUMNS.events));
    expect(decodeRecords(old, next)).toEqual([batch]);
  });

  it("groups a chunk spanning a column change by list, each with its own lines' columns", () => {
    const moved = [...TABLE_COLUMNS.events].reverse();
    const next = versionWith(moved);
    const [a, b, c] = [batchOf(1), batchOf(2, 3), batchOf(4)];
    const buf = Buffer.concat([encodeRecord(a, 1), encodeRecord(b, 2, undefined, next), encodeRecord(c, 1)]);
    const chunk = chunkOfRecords(buf, next);
    expect(chunk.tables.events.map((g) => [g.columns, g.rows])).toEqual([
      [TABLE_COLUMNS.events, 2],
      [moved, 2],
    ]);
    expect(Buffer.concat(chunk.tables.events[0]!.text).toString()).toBe(linesOf(a, TABLE_COLUMNS.events) + linesOf(c, TABLE_COLUMNS.events));
    expect(Buffer.concat(chunk.tables.events[1]!.text).toString()).toBe(linesOf(b, moved));
    expect(decodeRecords(buf, next)).toEqual([a, b, c]);
  });

  it('drops the values of a column the current version no longer has', () => {
    const batch = batchOf(5);
    const without = TABLE_COLUMNS.events.filter((c) => c !== 'title');
    const chunk = chunkOfRecords(encodeRecord(batch, 1), versionWith(without));
    expect(chunk.tables.events[0]!.columns).toEqual(without);
    expect(Buffer.concat(chunk.tables.events[0]!.text).toString()).toBe(linesOf(batch, without));
    const { title: _, ...rest } = batch.events[0]!;
    expect(decodeRecords(encodeRecord(batch, 1), versionWith(without))[0]!.events).toEqual([rest]);
  });

  it('refuses lines written with a list this version does not know (a newer version’s log)', () => {
    const newer = encodeRecord(batchOf(1), 1, undefined, versionWith([...TABLE_COLUMNS.events, 'extra']));
    expect(() => chunkOfRecords(newer, WAL_COLUMNS)).toThrow(/columns this version does not know/);
    expect(() => decodeRecords(newer)).toThrow(/columns this version does not know/);
  });
});
