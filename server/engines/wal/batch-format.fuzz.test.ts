// The WAL's compact rows (wal/batch-format.ts) take a fast path: strings are written as they
// are and only the finished JSON text is checked for a lone surrogate. Generated hostile rows
// (lone surrogates high and low, in values, map keys and array items; NUL, BOM, backslashes,
// `\ud` typed out; numbers out of range, non-finite, fractional; non-string map values) must
// give exactly the line the plain reference gives — every value made storable, then
// JSON.stringify — and read back through the insert thread's path as that same line.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EventRow, emptyBatch } from '../../../shared/rows.ts';
import { makeEvent } from '../../store/clickhouse.fixtures.ts';
import { storableRow } from '../../store/storable.ts';
import { TABLE_COLUMNS } from './batch-format.ts';
import { chunkOfRecords, encodeRecord } from './record.ts';

const edgeString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('\ud800', '\udfff', 'a\ud83d', '\ude00b', '\u{1F600}', '\u0000', '\ufeff', '\\ud800', '\\', '"', '__proto__', 'constructor', ''),
);
const edgeNumber = fc.oneof(fc.double(), fc.constantFrom(-0, 1e308, -1, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, 0.5, Number.NaN, Number.POSITIVE_INFINITY));
const mapValue = fc.oneof(edgeString, edgeString, edgeNumber, fc.boolean(), fc.constant(null));

const hostileEvent = fc.record(
  {
    name: edgeString,
    path: edgeString,
    referrer: edgeString,
    properties: fc.dictionary(edgeString, mapValue, { maxKeys: 4 }),
    groups: fc.array(edgeString, { maxLength: 3 }),
    revenue: edgeNumber,
    duration: edgeNumber,
    latitude: fc.oneof(edgeNumber, fc.constant(null)),
  },
  { requiredKeys: [] },
);

describe('WAL compact rows, fast path against the reference', () => {
  it('writes every hostile row as the reference line, and hands the insert thread that line', () => {
    fc.assert(
      fc.property(fc.array(hostileEvent, { minLength: 1, maxLength: 5 }), (overs) => {
        const events = overs.map((o, i) => makeEvent(i, o as Partial<EventRow>));
        const expected = events.map((e) => JSON.stringify(storableRow(e as unknown as Record<string, unknown>, TABLE_COLUMNS.events)));
        const chunk = chunkOfRecords(encodeRecord({ ...emptyBatch(), events }, events.length));
        const text = Buffer.concat(chunk.tables.events[0]!.text).toString('utf8');
        expect(text.slice(0, -1).split('\n')).toEqual(expected);
        expect(text.isWellFormed()).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
