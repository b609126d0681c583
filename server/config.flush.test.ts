import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('FLUSH_MAX_SIZE', () => {
  // Larger inserts under a backlog cost chDB less CPU per row but more memory: twice FLUSH_SIZE
  // unless set (docs/write-path.md, "Chunk size"), and never below FLUSH_SIZE.
  it('defaults to twice FLUSH_SIZE, takes another cap, and never goes below FLUSH_SIZE', () => {
    expect(loadConfig({}).flushMaxSize).toBe(20_000);
    expect(loadConfig({ FLUSH_SIZE: '5000' }).flushMaxSize).toBe(10_000);
    expect(loadConfig({ FLUSH_MAX_SIZE: '10000' }).flushMaxSize).toBe(10_000);
    expect(loadConfig({ FLUSH_MAX_SIZE: '40000' }).flushMaxSize).toBe(40_000);
    expect(loadConfig({ FLUSH_SIZE: '20000', FLUSH_MAX_SIZE: '1000' }).flushMaxSize).toBe(20_000);
    expect(() => loadConfig({ FLUSH_MAX_SIZE: '0' })).toThrow(/FLUSH_MAX_SIZE/);
  });
});

describe('WORKER_FLUSH_SIZE', () => {
  // The distributed worker's inserts: 20,000 rows cost chDB about a third less CPU per row than
  // 10,000 (bench/worker-drain.ts, docs/benchmarks.md); a deployment may still choose another size.
  it('defaults to 20,000 rows and takes another size', () => {
    expect(loadConfig({}).workerFlushSize).toBe(20_000);
    expect(loadConfig({ WORKER_FLUSH_SIZE: '5000' }).workerFlushSize).toBe(5000);
    expect(() => loadConfig({ WORKER_FLUSH_SIZE: '0' })).toThrow(/WORKER_FLUSH_SIZE/);
  });
});

describe('INSERT_PARALLEL_PARSING', () => {
  // An embedded insert is one chunk, one segment for ClickHouse's parallel parser, whose threads
  // then only add CPU and memory beside chDB's (docs/benchmarks.md, "Where the embedded process's
  // memory goes"); a ClickHouse server keeps its own default.
  it('is off with chDB, on with a ClickHouse server, and either when set', () => {
    expect(loadConfig({}).insertParallelParsing).toBe(false);
    expect(loadConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123' }).insertParallelParsing).toBe(true);
    expect(loadConfig({ INSERT_PARALLEL_PARSING: 'on' }).insertParallelParsing).toBe(true);
    expect(loadConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', INSERT_PARALLEL_PARSING: '0' }).insertParallelParsing).toBe(false);
    expect(() => loadConfig({ INSERT_PARALLEL_PARSING: 'maybe' })).toThrow(/INSERT_PARALLEL_PARSING/);
  });
});
