/**
 * What the embedded chDB engine holds in memory, read from its own system tables, for
 * `/metrics` (`livepanel_chdb_memory_bytes{part}`) and the memory benchmarks. chDB runs inside
 * this process, so its memory is part of the process's RSS with nothing to tell it apart in
 * /proc; the engine itself knows:
 * - `tracked`: ClickHouse's memory tracker (`MemoryTracking`): what its queries, inserts,
 *   merges and caches have allocated and not freed;
 * - `allocator_*`: its allocator, jemalloc, linked into libchdb (`system.jemalloc_stats`):
 *   `allocated` in use, `resident` pages it holds (in use, plus freed pages it has not yet
 *   returned: `dirty_decay_ms`), `retained` address space it keeps without pages;
 * - one entry per cache (`*CacheBytes`: marks, primary index, uncompressed blocks, …).
 * Memory that chDB's code gets from glibc's malloc (libchdb's own `malloc` calls resolve to
 * glibc's) is not in the allocator figures: it is in the process's heap and arenas.
 */
import type { ClickHouseClient } from './clickhouse.ts';

/** The caches worth naming, by their `system.metrics` name. */
const CACHES: Record<string, string> = {
  MarkCacheBytes: 'mark_cache',
  PrimaryIndexCacheBytes: 'primary_index_cache',
  UncompressedCacheBytes: 'uncompressed_cache',
  IndexMarkCacheBytes: 'index_mark_cache',
  IndexUncompressedCacheBytes: 'index_uncompressed_cache',
  QueryConditionCacheBytes: 'query_condition_cache',
  CompiledExpressionCacheBytes: 'compiled_expression_cache',
  QueryCacheBytes: 'query_cache',
  PageCacheBytes: 'page_cache',
};

/** Bytes by part: `tracked`, `allocator_allocated`, `allocator_resident`, …, and each cache. */
export type ChdbMemory = Record<string, number>;

/** jemalloc's summary line: "Allocated: N, active: N, metadata: N (…), resident: N, mapped: N, retained: N". */
export function parseJemallocSummary(stats: string): Record<string, number> {
  const line = /^Allocated: .*$/m.exec(stats)?.[0] ?? '';
  const out: Record<string, number> = {};
  for (const key of ['allocated', 'active', 'resident', 'mapped', 'retained']) {
    const m = new RegExp(`\\b${key}: (\\d+)`, 'i').exec(line);
    if (m) out[`allocator_${key}`] = Number(m[1]);
  }
  return out;
}

/** Reads chDB's memory figures through `ch` (any session of the process: the engine is one). */
export async function readChdbMemory(ch: ClickHouseClient): Promise<ChdbMemory> {
  const names = ['MemoryTracking', ...Object.keys(CACHES)].map((n) => `'${n}'`).join(', ');
  const rows = await ch
    .query({ query: `SELECT metric, value FROM system.metrics WHERE metric IN (${names})`, format: 'JSONEachRow' })
    .then((r) => r.json<{ metric: string; value: string | number }>());
  const out: ChdbMemory = {};
  for (const { metric, value } of rows) out[metric === 'MemoryTracking' ? 'tracked' : CACHES[metric]!] = Number(value);
  const stats = await ch.query({ query: 'SELECT * FROM system.jemalloc_stats', format: 'TabSeparatedRaw' }).then((r) => r.text());
  return { ...out, ...parseJemallocSummary(stats) };
}
