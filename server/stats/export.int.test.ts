// The exporter on chDB with tiny pages and windows, so paging and windowing are exercised hard:
// every event of the range exactly once, in (created_at, id) order, including many events
// sharing one millisecond (the keyset cursor must not skip or repeat ties), ranges that cut
// hours in half, a name filter, and empty stretches.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chTime, type EventRow } from '../../shared/rows.ts';
import { exportBody } from '../api/query.routes.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { exportEvents } from './export.ts';

const DB = 'lp_export';
const T0 = Date.UTC(2024, 0, 1, 10);
let dir: string;
let ch: ClickHouseClient;
let all: EventRow[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-export-int-'));
  ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: DB });
  await migrateClickhouse(ch, DB);
  // 600 events over 3 hours, then 200 sharing one millisecond, then a quiet day, then 50 more.
  const at = (i: number) => (i < 600 ? T0 + i * 18_000 : i < 800 ? T0 + 3 * 3_600_000 : T0 + 2 * 86_400_000 + (i - 800) * 1000);
  all = Array.from({ length: 850 }, (_, i) => makeEvent(i, { project_id: 'px', created_at: chTime(at(i)), received_at: chTime(at(i)) }));
  await createWriter(ch).write({ events: all, sessions: [], profiles: [], groups: [], replays: [] }, 'export-seed');
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The client, counting the queries it runs (how far ahead the exporter read). */
function countQueries() {
  const counted = { queries: 0, ch };
  counted.ch = new Proxy(ch, {
    get(target, key) {
      if (key !== 'query') return Reflect.get(target, key);
      return (...args: Parameters<ClickHouseClient['query']>) => {
        counted.queries++;
        return target.query(...args);
      };
    },
  });
  return counted;
}

const sorted = (rows: EventRow[]) => [...rows].sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));

async function collect(from: number, to: number, name?: string) {
  const out: EventRow[] = [];
  let pages = 0;
  for await (const page of exportEvents(ch, { projectId: 'px', from, to, name }, { pageRows: 7, windowRows: 50 })) {
    expect(page.length).toBeLessThanOrEqual(7);
    out.push(...page);
    pages++;
  }
  return { rows: out, pages };
}

describe('exportEvents', () => {
  it('reads every event exactly once, in order, with ties on one millisecond', async () => {
    const { rows, pages } = await collect(T0 - 3_600_000, T0 + 3 * 86_400_000);
    expect(rows.map((r) => r.id)).toEqual(sorted(all).map((r) => r.id));
    expect(pages).toBeGreaterThan(850 / 7);
    expect(rows[0]).toEqual(sorted(all)[0]);
  });

  it('cuts ranges inside hours and filters by name', async () => {
    const from = T0 + 1_800_000 + 123;
    const to = T0 + 2 * 3_600_000 + 60_000;
    const want = sorted(all.filter((e) => Date.parse(`${e.created_at.replace(' ', 'T')}Z`) >= from && Date.parse(`${e.created_at.replace(' ', 'T')}Z`) < to));
    expect((await collect(from, to)).rows.map((r) => r.id)).toEqual(want.map((r) => r.id));
    const named = await collect(T0, T0 + 3 * 86_400_000, 'signup');
    expect(named.rows.map((r) => r.id)).toEqual(sorted(all.filter((e) => e.name === 'signup')).map((r) => r.id));
  });

  it('yields nothing for an empty range or another project', async () => {
    expect((await collect(T0 - 86_400_000, T0)).rows).toEqual([]);
    const other: EventRow[] = [];
    for await (const p of exportEvents(ch, { projectId: 'nobody', from: T0, to: T0 + 86_400_000 })) other.push(...p);
    expect(other).toEqual([]);
  });

  it('bounds pages in bytes: large rows make short pages, a row larger than the bound a page of its own', async () => {
    const big = (i: number, kb: number) =>
      makeEvent(10_000 + i, {
        project_id: 'pbig',
        created_at: chTime(T0 + i * 1000),
        received_at: chTime(T0 + i * 1000),
        properties: { blob: 'x'.repeat(kb * 1024) },
      });
    const rows = [...Array.from({ length: 30 }, (_, i) => big(i, 20)), big(30, 100), big(31, 1)];
    await createWriter(ch).write({ events: rows, sessions: [], profiles: [], groups: [], replays: [] }, 'export-big');
    const out: EventRow[] = [];
    const sizes: number[] = [];
    for await (const page of exportEvents(ch, { projectId: 'pbig', from: T0, to: T0 + 3_600_000 }, { pageRows: 1000, pageBytes: 64 * 1024 })) {
      const bytes = page.reduce((n, r) => n + JSON.stringify(r).length, 0);
      if (page.length > 1) expect(bytes).toBeLessThan(64 * 1024 * 1.1);
      sizes.push(page.length);
      out.push(...page);
    }
    expect(out.map((r) => r.id)).toEqual(sorted(rows).map((r) => r.id));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3); // ≈ 20 KiB rows in 64 KiB pages
    expect(sizes).toContain(1); // the 100 KiB row
  });

  it('streams a large export: each page is read from ClickHouse only when the reader takes the previous one', async () => {
    const counted = countQueries();
    const counting = counted.ch;
    const body = exportBody(exportEvents(counting, { projectId: 'px', from: T0 - 3_600_000, to: T0 + 3 * 86_400_000 }, { pageRows: 7, windowRows: 50 }), false);
    const reader = body.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(new TextDecoder().decode(first.value).trim().split('\n')).toHaveLength(7); // the first page is out…
    const afterFirst = counted.queries;
    expect(afterFirst).toBeLessThanOrEqual(3); // …after the window plan and one page (keys, rows): nothing read ahead
    await reader.read();
    expect(counted.queries).toBe(afterFirst + 2);
    let lines = 14;
    for (let r = await reader.read(); !r.done; r = await reader.read()) lines += new TextDecoder().decode(r.value).trim().split('\n').length;
    expect(lines).toBe(850);
    expect(counted.queries).toBeGreaterThan(2 * (850 / 7));
  });

  it('stops reading when the client leaves', async () => {
    const counted = countQueries();
    const counting = counted.ch;
    const reader = exportBody(
      exportEvents(counting, { projectId: 'px', from: T0 - 3_600_000, to: T0 + 3 * 86_400_000 }, { pageRows: 7, windowRows: 50 }),
      true,
    ).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.startsWith('id,project_id,name')).toBe(true);
    await reader.cancel();
    const atCancel = counted.queries;
    expect(atCancel).toBeLessThanOrEqual(3);
    expect(await reader.closed.then(() => 'closed')).toBe('closed');
    expect(counted.queries).toBe(atCancel);
  });
});
