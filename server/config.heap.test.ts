import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('V8_HEAP_GROWING_PERCENT', () => {
  // The embedded shape stays under 1 GB under /ws only with the heap's growth capped
  // (docs/benchmarks.md, "Memory"); the distributed nodes keep V8's own rule unless told.
  it('caps heap growth at 100% (2×) in the embedded shape and leaves V8 its own rule elsewhere', () => {
    expect(loadConfig({}).heapGrowingPercent).toBe(100);
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/lp' }).heapGrowingPercent).toBe(0);
  });

  it('takes an explicit value, 0 meaning V8 decides', () => {
    expect(loadConfig({ V8_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(loadConfig({ V8_HEAP_GROWING_PERCENT: '50', DATABASE_URL: 'postgres://localhost/lp' }).heapGrowingPercent).toBe(50);
    expect(() => loadConfig({ V8_HEAP_GROWING_PERCENT: '-1' })).toThrow(/V8_HEAP_GROWING_PERCENT/);
  });
});
