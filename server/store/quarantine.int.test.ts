// One row must never block the rows around it (real chDB, own folder): values ClickHouse
// used to refuse are stored (lone surrogates, integer sums past 2^53, 101 months in one
// insert); rows it still refuses for their content are isolated by bisection and quarantined
// with their error, everything else stored exactly once — also when the same batch is written
// again under its token — and a quarantined row can be listed, replayed and dropped.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chTime, emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { createMetrics } from '../metrics.ts';
import { makeEvent, makeSession } from './clickhouse.fixtures.ts';
import { migrateClickhouse } from './clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from './clickhouse.ts';
import { memorySplitMemo } from './insert-split.ts';
import { replayQuarantine } from './quarantine.ts';
import { createWriter, type Writer } from './writer.ts';

const DB = 'lp_quarantine';
let dir: string;
let ch: ClickHouseClient;
let writer: Writer;
const metrics = createMetrics();

async function one<T>(query: string, params: Record<string, unknown> = {}): Promise<T> {
  const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await rs.json<T>())[0]!;
}
const countEvents = async (project: string) => {
  const r = await one<{ n: string; d: string }>('SELECT count() AS n, uniqExact(id) AS d FROM events WHERE project_id = {p:String}', { p: project });
  return { n: Number(r.n), d: Number(r.d) };
};
const batchOf = (over: Partial<WriteBatch>): WriteBatch => ({ ...emptyBatch(), ...over });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-quarantine-'));
  ch = await createClickhouse({ kind: 'chdb', dir, database: DB });
  await migrateClickhouse(ch, DB);
  writer = createWriter(ch, metrics);
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('values ClickHouse used to refuse are made storable', () => {
  it('stores lone surrogates (as U+FFFD), sums past 2^53 (clamped) and coordinates that are not numbers', async () => {
    const events = [
      makeEvent(1, { project_id: 'p_values', name: 'bad\ud800', properties: { 'k\udc00': 'v\ud800' }, groups: ['g\udbff'] }),
      makeEvent(2, { project_id: 'p_values', revenue: 1.0088e21, duration: Number.NaN, latitude: Number.POSITIVE_INFINITY }),
    ];
    const sessions = [makeSession('s1', { project_id: 'p_values', revenue: 1.0088e21, event_count: 1e12 })];
    await writer.write(batchOf({ events, sessions }), 'values-1');
    expect(await countEvents('p_values')).toEqual({ n: 2, d: 2 });
    const row = await one<Record<string, unknown>>("SELECT name, properties, groups FROM events WHERE project_id = 'p_values' AND id = {id:UUID}", {
      id: events[0]!.id,
    });
    expect(row).toEqual({ name: 'bad\ufffd', properties: { 'k\ufffd': 'v\ufffd' }, groups: ['g\ufffd'] });
    expect(await one("SELECT revenue, duration, latitude FROM events WHERE project_id = 'p_values' AND id = {id:UUID}", { id: events[1]!.id })).toEqual({
      revenue: Number.MAX_SAFE_INTEGER,
      duration: 0,
      latitude: null,
    });
    expect(await one("SELECT revenue, event_count FROM sessions WHERE project_id = 'p_values'")).toEqual({
      revenue: Number.MAX_SAFE_INTEGER,
      event_count: 4294967295,
    });
  });

  it('stores one batch whose events span 101 months (more partitions than one insert may touch), rollups included, once', async () => {
    const events = Array.from({ length: 101 }, (_, m) => makeEvent(100 + m, { project_id: 'p_months', created_at: chTime(Date.UTC(2015, m, 3)) }));
    await writer.write(batchOf({ events }), 'months-1');
    await writer.write(batchOf({ events }), 'months-1'); // a retry under the same token
    expect(await countEvents('p_months')).toEqual({ n: 101, d: 101 });
    expect(await one("SELECT countMerge(events) AS n FROM events_daily WHERE project_id = 'p_months'")).toEqual({ n: 101 });
  });
});

describe('rows ClickHouse refuses are quarantined, the rest stored', () => {
  beforeAll(async () => {
    // A refusal sanitising cannot foresee: a constraint on the table.
    await ch.command({ query: "ALTER TABLE events ADD CONSTRAINT no_poison CHECK name != 'poison'" });
  });

  it('bisects a 1000-row insert around 3 refused rows: 997 stored, 3 quarantined with the error, once even when retried', async () => {
    const poison = new Set([17, 500, 999]);
    const events = Array.from({ length: 1000 }, (_, i) => makeEvent(1000 + i, { project_id: 'p_poison', name: poison.has(i) ? 'poison' : 'click' }));
    const splits = memorySplitMemo();
    await writer.write(batchOf({ events }), 'poison-1', { splits });
    expect(await countEvents('p_poison')).toEqual({ n: 997, d: 997 });
    // Written again with the same token and memo (a retry after a crash): nothing doubles.
    await writer.write(batchOf({ events }), 'poison-1', { splits });
    // And with a memo that forgot the splits (the whole is refused again, the same halves follow).
    await writer.write(batchOf({ events }), 'poison-1');
    expect(await countEvents('p_poison')).toEqual({ n: 997, d: 997 });

    const listed = await writer.quarantine.list({ projectId: 'p_poison' });
    expect(listed).toHaveLength(3);
    expect(listed.map((e) => JSON.parse(e.row).id).sort()).toEqual([...poison].map((i) => events[i]!.id).sort());
    for (const e of listed) expect(e).toMatchObject({ kind: 'events', error_code: '469', project_id: 'p_poison' });
    expect(listed[0]!.error).toMatch(/no_poison/);
    expect(splits.tokens().length).toBeGreaterThan(3);
    const text = await metrics.registry.getSingleMetricAsString('livepanel_quarantined_rows_total');
    expect(text).toMatch(/livepanel_quarantined_rows_total\{table="events"\} [3-9]/);
  });

  it('quarantines a row with a malformed time (as an older version could log) and keeps the rest of every kind', async () => {
    const bad = { ...makeSession('s7', { project_id: 'p_time' }), created_at: '+275760-09-13 00:00:00.' };
    await writer.write(
      batchOf({ events: [makeEvent(5000, { project_id: 'p_time' })], sessions: [makeSession('s8', { project_id: 'p_time' }), bad] }),
      'time-1',
    );
    expect(await countEvents('p_time')).toEqual({ n: 1, d: 1 });
    expect(await one("SELECT count() AS n FROM sessions WHERE project_id = 'p_time'")).toEqual({ n: 1 });
    const [entry] = await writer.quarantine.list({ projectId: 'p_time' });
    expect(entry).toMatchObject({ kind: 'sessions', error_code: '41' });
  });

  it('replays quarantined rows once the cause is gone, and drops entries', async () => {
    const timeEntry = (await writer.quarantine.list({ projectId: 'p_time' }))[0]!;
    await ch.command({ query: 'ALTER TABLE events DROP CONSTRAINT no_poison' });
    const entries = await writer.quarantine.list({ projectId: 'p_poison' });
    const result = await replayQuarantine(writer.quarantine, writer.insertRows, [...entries, timeEntry]);
    expect(result.replayed.sort()).toEqual(entries.map((e) => e.id).sort());
    expect(result.failed).toEqual([{ id: timeEntry.id, error_code: '41', error: expect.stringMatching(/DateTime/) }]);
    expect(await countEvents('p_poison')).toEqual({ n: 1000, d: 1000 });
    // Replayed again (a crash before the entries were removed): dropped as a duplicate.
    await replayQuarantine(writer.quarantine, writer.insertRows, entries);
    expect(await countEvents('p_poison')).toEqual({ n: 1000, d: 1000 });
    expect(await writer.quarantine.list({ projectId: 'p_poison' })).toEqual([]);
    expect(await writer.quarantine.drop([timeEntry.id])).toBe(1);
    expect(await writer.quarantine.count()).toBe(0);
  });

  it('does not quarantine anything when the failure is not the rows’ fault: the write rejects for a retry', async () => {
    // A store that is down: every insert fails with a connection error.
    const inserts: string[] = [];
    const down = {
      insert: async ({ table }: { table: string }) => {
        inserts.push(table);
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
      },
    } as unknown as ClickHouseClient;
    const other = createWriter(down);
    const events = Array.from({ length: 8 }, (_, i) => makeEvent(9000 + i, { project_id: 'p_down' }));
    await expect(other.write(batchOf({ events }), 'down-1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(inserts).toHaveLength(1); // tried whole, not split
    expect(await writer.quarantine.list({ projectId: 'p_down' })).toEqual([]);
  });
});
