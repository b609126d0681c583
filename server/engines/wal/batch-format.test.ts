// The WAL record payload (wal/batch-format.ts): a batch round-trips through the compact format,
// values made storable on the way in; the insert thread's view of a chunk is the records' own
// JSONCompactEachRow text; and records written by the previous version (one JSON object)
// still decode both ways, so a log from before an upgrade replays.
import { describe, expect, it } from 'vitest';
import { emptyBatch, type WriteBatch } from '../../../shared/rows.ts';
import { makeEvent, makeSession } from '../../store/clickhouse.fixtures.ts';
import { storableRow } from '../../store/storable.ts';
import { encodeSections, TABLE_COLUMNS } from './batch-format.ts';
import { chunkOfRecords, decodeRecords, type EncodedPush, encodeGroupRecord, encodeRecord, frameRecord, recordIds, scanRecords } from './record.ts';
import { encodeRecordV1 } from './wal.fixtures.ts';

function everyKind(): WriteBatch {
  return {
    events: [makeEvent(1, { properties: { 'a.b': 'é ✓ \n "q"' }, groups: ['g1'] }), makeEvent(2, { created_at: '2023-01-05 10:00:00.000' })],
    sessions: [makeSession('s1')],
    profiles: [
      { op: 'identify', project_id: 'p', profile_id: 'u1', at: '2024-05-01 08:00:00.000', email: 'a@b.c', properties: { plan: 'pro' } },
      { op: 'increment', project_id: 'p', profile_id: 'u1', at: '2024-05-01 08:00:00.000', property: 'n', by: 2 },
    ],
    groups: [{ project_id: 'p', id: 'g1', type: 'company', name: 'Acme', properties: {}, updated_at: '2024-05-01 08:00:00.000' }],
    replays: [
      {
        project_id: 'p',
        session_id: 's1',
        device_id: 'd',
        chunk_index: 0,
        started_at: '2024-05-01 08:00:00.000',
        ended_at: '2024-05-01 08:00:01.000',
        events_count: 3,
        is_full_snapshot: 1,
        payload: '[]',
      },
    ],
  };
}

const rows = (b: WriteBatch) => b.events.length + b.sessions.length + b.profiles.length + b.groups.length + b.replays.length;

describe('WAL batch format', () => {
  it('round-trips every kind of row, with and without the ids line', () => {
    const b = everyKind();
    const buf = Buffer.concat([encodeRecord(b, rows(b)), encodeRecord(b, rows(b), ['p:x', 'p:y'])]);
    expect(decodeRecords(buf)).toEqual([b, b]);
    const { records } = scanRecords(buf, 0);
    expect(records.map((r) => r.rows)).toEqual([7, 7]);
    expect(recordIds(buf, records[1]!)).toEqual(['p:x', 'p:y']);
    expect(recordIds(buf, records[0]!)).toEqual([]);
  });

  it('stores values made storable at encoding (lone surrogates, integers past their range)', () => {
    const b = { ...emptyBatch(), events: [makeEvent(1, { name: 'bad \ud800', revenue: 2 ** 70 })] };
    const [back] = decodeRecords(encodeRecord(b, 1));
    expect(back!.events[0]!.name).toBe('bad \ufffd');
    expect(back!.events[0]!.revenue).toBe(Number.MAX_SAFE_INTEGER);
    const nested = { ...emptyBatch(), events: [makeEvent(2, { properties: { 'k\udc00': 'v\ud800', plain: 'a\\ud800' }, groups: ['g\udfff'] })] };
    const [fixed] = decodeRecords(encodeRecord(nested, 1));
    expect(fixed!.events[0]!.properties).toEqual({ 'k\ufffd': 'v\ufffd', plain: 'a\\ud800' });
    expect(fixed!.events[0]!.groups).toEqual(['g\ufffd']);
  });

  it("hands a chunk's rows to the writer as the records' JSONCompactEachRow text, with their partitions", () => {
    const a = everyKind();
    const b = { ...emptyBatch(), events: [makeEvent(3, { created_at: '2022-07-01 00:00:00.000' })] };
    const chunk = chunkOfRecords(Buffer.concat([encodeRecord(a, rows(a), ['p:1']), encodeRecord(b, 1)]));
    const events = [...a.events, ...b.events];
    const expected = events.map((e) => `${JSON.stringify(storableRow(e, TABLE_COLUMNS.events))}\n`).join('');
    expect(Buffer.concat(chunk.tables.events[0]!.text).toString()).toBe(expected);
    expect(chunk.tables.events[0]!.rows).toBe(3);
    expect([...chunk.tables.events[0]!.parts].sort()).toEqual(['2022-07', '2023-01', '2024-05']);
    expect(chunk.tables.sessions[0]!.rows).toBe(1);
    expect(chunk.tables.groups[0]!.rows).toBe(1);
    expect(chunk.tables.replays[0]!.rows).toBe(1);
    expect(chunk.profiles).toEqual(a.profiles);
  });

  it('writes each value under its column whatever order or shape the row objects have', () => {
    // Rows are read by a function made once per column list: rows built in another key order,
    // with extra keys or with a column missing, must still give their own values in column order.
    const plain = makeEvent(4, { properties: { a: '1' } });
    const reversed = Object.fromEntries(Object.entries(makeEvent(5, { properties: { a: '2' } })).reverse()) as typeof plain;
    const extra = { ...makeEvent(6), not_a_column: 'x' } as typeof plain;
    const { revenue: _dropped, ...missing } = makeEvent(7);
    const events = [plain, reversed, extra, missing as typeof plain];
    const chunk = chunkOfRecords(encodeRecord({ ...emptyBatch(), events }, events.length));
    const expected = events.map((e) => `${JSON.stringify(storableRow(e, TABLE_COLUMNS.events))}\n`).join('');
    expect(Buffer.concat(chunk.tables.events[0]!.text).toString()).toBe(expected);
    expect(decodeRecords(encodeRecord({ ...emptyBatch(), events: [reversed] }, 1))[0]!.events[0]).toEqual(reversed);
  });

  it('reads records of the previous version (one JSON object) both ways, in the same chunk as new ones', () => {
    const b = everyKind();
    const old = encodeRecordV1(b, rows(b), ['p:old']);
    const buf = Buffer.concat([old, encodeRecord(b, rows(b))]);
    expect(decodeRecords(buf)).toEqual([b, b]);
    expect(recordIds(buf, scanRecords(buf, 0).records[0]!)).toEqual(['p:old']);
    const chunk = chunkOfRecords(buf);
    const [first, second] = [chunkOfRecords(old), chunkOfRecords(encodeRecord(b, rows(b)))];
    expect(Buffer.concat(first.tables.events[0]!.text).toString()).toBe(Buffer.concat(second.tables.events[0]!.text).toString());
    expect(chunk.tables.events[0]!.rows).toBe(4);
    expect(chunk.profiles).toHaveLength(4);
  });

  it('refuses a section it does not know instead of skipping rows', () => {
    const recordOf = (payload: string) => frameRecord(payload, 1);
    expect(() => chunkOfRecords(recordOf('~{"table":"future","rows":1,"bytes":4}\n[1]\n'))).toThrow(/unknown or damaged/);
    expect(() => decodeRecords(recordOf('~{"table":"events","rows":1,"bytes":99}\n[]\n'))).toThrow(/damaged/);
    expect(() => decodeRecords(recordOf('~not a header\n'))).toThrow();
  });

  // A commit group's pushes share one record (queue.wal.ts): it must read back as the pushes'
  // rows, every one, in push order per kind, with every push's ids — through both readers.
  it('reads a commit group record as its pushes merged: rows per kind in push order, every id, every partition', () => {
    const a = everyKind();
    const b: WriteBatch = { ...emptyBatch(), events: [makeEvent(3, { created_at: '2025-02-01 00:00:00.000' })], sessions: [makeSession('s2')] };
    const c: WriteBatch = {
      ...emptyBatch(),
      profiles: [{ op: 'increment', project_id: 'p', profile_id: 'u2', at: '2024-05-01 08:00:00.000', property: 'm', by: 1 }],
    };
    const push = (batch: WriteBatch, ids?: string[]): EncodedPush => ({
      sections: encodeSections(batch),
      rows: rows(batch),
      idsJson: ids && JSON.stringify(ids),
    });
    const buf = encodeGroupRecord([push(a, ['p:1', 'p:"2"']), push(b), push(c, ['p:3'])]);
    const { records, validEnd } = scanRecords(buf, 0);
    expect(validEnd).toBe(buf.length);
    expect(records.map((r) => r.rows)).toEqual([rows(a) + rows(b) + rows(c)]);
    expect(recordIds(buf, records[0]!)).toEqual(['p:1', 'p:"2"', 'p:3']);
    const [merged] = decodeRecords(buf);
    expect(merged!.events.map((e) => e.id)).toEqual([...a.events, ...b.events].map((e) => e.id));
    expect(merged!.sessions.map((x) => x.id)).toEqual([...a.sessions, ...b.sessions].map((x) => x.id));
    expect(merged!.profiles).toEqual([...a.profiles, ...c.profiles]);
    expect(merged!.groups).toEqual(a.groups);
    expect(merged!.replays).toEqual(a.replays);
    const chunk = chunkOfRecords(buf);
    expect(chunk.tables.events[0]!.rows).toBe(3);
    expect([...chunk.tables.events[0]!.parts].sort()).toEqual(['2023-01', '2024-05', '2025-02']);
  });

  it('writes a group of one push byte for byte as the record of that push, and no ids line without ids', () => {
    const b = everyKind();
    const one = encodeGroupRecord([{ sections: encodeSections(b), rows: rows(b), idsJson: JSON.stringify(['p:x']) }]);
    expect(one.equals(encodeRecord(b, rows(b), ['p:x']))).toBe(true);
    const none = encodeGroupRecord([
      { sections: encodeSections(b), rows: rows(b) },
      { sections: encodeSections(b), rows: rows(b) },
    ]);
    expect(recordIds(none, scanRecords(none, 0).records[0]!)).toEqual([]);
    expect(decodeRecords(none)[0]!.events).toHaveLength(4);
  });
});
