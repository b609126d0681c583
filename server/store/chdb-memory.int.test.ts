/**
 * chDB's own memory figures (`livepanel_chdb_memory_bytes`), and the allocator setting the
 * server starts chDB with (`JE_MALLOC_CONF` in malloc-env.ts). libchdb links jemalloc under the
 * `je_` prefix, so it reads `JE_MALLOC_CONF` and ignores `MALLOC_CONF`: a chDB build that read
 * another name would silently keep its 5 s decay, and ≈ 100 MB more at the embedded `/ws` peak.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../cluster/local-cluster.ts';
import { MALLOC_ENV } from '../cluster/malloc-env.ts';
import { parseJemallocSummary, readChdbMemory } from './chdb-memory.ts';
import { makeEvents } from './clickhouse.fixtures.ts';
import { migrateClickhouse } from './clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from './clickhouse.ts';
import { createWriter } from './writer.ts';

describe('parseJemallocSummary', () => {
  it("reads jemalloc's summary line", () => {
    const stats =
      'Arenas: 4\nAllocated: 25807760, active: 26324992, metadata: 3191520 (n_thp 0, edata 131456, rtree 2097152), resident: 29417472, mapped: 36962304, retained: 10223616\nCount: 0\n';
    expect(parseJemallocSummary(stats)).toEqual({
      allocator_allocated: 25807760,
      allocator_active: 26324992,
      allocator_resident: 29417472,
      allocator_mapped: 36962304,
      allocator_retained: 10223616,
    });
    expect(parseJemallocSummary('no such line')).toEqual({});
  });
});

describe('readChdbMemory', () => {
  let dir: string;
  let ch: ClickHouseClient;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lp-chdb-mem-'));
    ch = await createClickhouse({ kind: 'chdb', dir, database: 'mem' });
    await migrateClickhouse(ch, 'mem');
    await createWriter(ch).insertRows('events', makeEvents(2000), 'mem-1');
  });
  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the engine's tracker, its allocator's figures and its caches", async () => {
    const m = await readChdbMemory(ch);
    expect(m.tracked).toBeGreaterThan(0);
    expect(m.allocator_allocated).toBeGreaterThan(1 << 20);
    expect(m.allocator_active).toBeGreaterThanOrEqual(m.allocator_allocated!);
    expect(m.allocator_resident).toBeGreaterThanOrEqual(m.allocator_active!);
    for (const cache of ['mark_cache', 'primary_index_cache', 'uncompressed_cache']) expect(m[cache]).toBeGreaterThanOrEqual(0);
  });
});

describe("chDB's allocator settings", () => {
  /** `opt.dirty_decay_ms` as chDB's jemalloc has it, in a fresh process with `env`. */
  function dirtyDecayMs(env: Record<string, string>): number {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-chdb-je-'));
    const script = `
      const { createClickhouse } = await import('./server/store/clickhouse.ts');
      const ch = await createClickhouse({ kind: 'chdb', dir: ${JSON.stringify(dir)}, database: 'je' });
      const stats = await ch.query({ query: 'SELECT * FROM system.jemalloc_stats', format: 'TabSeparatedRaw' }).then((r) => r.text());
      console.log(/opt\\.dirty_decay_ms: (-?\\d+)/.exec(stats)?.[1]);
      await ch.close();`;
    const { JE_MALLOC_CONF: _, ...inherited } = process.env;
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        env: { ...inherited, ...env },
        encoding: 'utf8',
      });
      return Number(out.trim().split('\n').at(-1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('the server starts chDB with a shorter dirty decay than its build, through JE_MALLOC_CONF', () => {
    const wanted = Number(/dirty_decay_ms:(\d+)/.exec(MALLOC_ENV.JE_MALLOC_CONF ?? '')?.[1]);
    expect(wanted).toBeGreaterThanOrEqual(0);
    const asBuilt = dirtyDecayMs({});
    expect(asBuilt).toBeGreaterThan(wanted);
    expect(dirtyDecayMs({ ...MALLOC_ENV })).toBe(wanted);
    // The unprefixed name reaches nothing in libchdb (guards a misnamed variable).
    expect(dirtyDecayMs({ MALLOC_CONF: MALLOC_ENV.JE_MALLOC_CONF! })).toBe(asBuilt);
  }, 60_000);
});
