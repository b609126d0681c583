// Job payloads between ingest nodes and workers: the compact version 2 reads back to exactly
// the batch it was made from, and a payload whose shape is off is refused (the worker then
// reads it row by row), so a wrong column count can never shift values into other columns.
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../server/store/clickhouse.fixtures.ts';
import { asEventsJobV1, EventsJob, eventsJobV2, readEventsJob } from './jobs.ts';
import { emptyBatch, type WriteBatch } from './rows.ts';

const head = (rows: number) => ({ batchId: 'b-1', node: 'n', createdAt: 1, rows });

function batch(n: number): WriteBatch {
  const b = emptyBatch();
  for (let i = 0; i < n; i++) b.events.push(makeEvent(i, { properties: { 'a.b': String(i), '': 'x' }, latitude: i % 2 ? null : 1.5 }));
  b.groups.push({ project_id: 'p', id: 'g', type: 't', name: 'n', properties: {}, updated_at: '2026-01-01 00:00:00.000' });
  return b;
}

describe('events job payloads', () => {
  it('reads a version 2 payload (through JSON, as BullMQ carries it) back to the batch it was made from', () => {
    const b = batch(5);
    const job = JSON.parse(JSON.stringify(eventsJobV2(head(6), b)));
    expect(job.events[0]).toBeInstanceOf(Array);
    expect(readEventsJob(job)).toEqual({ batch: b, rows: 6 });
    // and smaller than version 1 of the same rows
    expect(JSON.stringify(job).length).toBeLessThan(JSON.stringify({ v: 1, ...head(6), batch: b }).length * 0.8);
  });

  it('still reads version 1, validated row by row', () => {
    const b = batch(2);
    expect(readEventsJob({ v: 1, ...head(3), batch: b })).toMatchObject({ batch: b, rows: 3 });
    expect(readEventsJob({ v: 1, ...head(3), batch: { ...b, events: [{ id: 'nope' }] } })).toBeNull();
  });

  it('refuses a version 2 payload whose shape is off: a row of another length, a wrong count, a bad envelope', () => {
    const good = () => eventsJobV2(head(3), batch(2));
    const short = good();
    short.events[1] = short.events[1]!.slice(1);
    expect(readEventsJob(short)).toBeNull();
    expect(readEventsJob({ ...good(), rows: 4 })).toBeNull();
    expect(readEventsJob({ ...good(), events: 'x' })).toBeNull();
    expect(readEventsJob({ ...good(), batchId: 'no spaces allowed' })).toBeNull();
    expect(readEventsJob({ ...good(), events: [null] })).toBeNull();
  });

  it('turns a version 2 payload into version 1 for reading row by row', () => {
    const b = batch(2);
    const v1 = asEventsJobV1(eventsJobV2(head(3), b));
    expect(EventsJob.safeParse(v1).success).toBe(true);
    expect((v1 as { batch: WriteBatch }).batch).toEqual(b);
  });
});
