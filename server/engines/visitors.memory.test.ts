import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryHarness } from './harness.ts';
import { describeVisitors } from './visitors.contract.ts';
import { createMemoryVisitors } from './visitors.memory.ts';

describeVisitors('memory', async (opts) => memoryHarness(createMemoryVisitors(opts)));

describe('memory visitors: "seen" without readers', () => {
  afterEach(() => vi.useRealTimers());

  // Guards against the unbounded table: only `active` (a dashboard watching the project) used to
  // drop old entries, so a project nobody watched kept every device it ever saw.
  it('drops devices older than the keep window as the table grows, with no active() read', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const store = createMemoryVisitors({ keepMs: 60_000 });
    const batch = (from: number) => Array.from({ length: 1000 }, (_, i) => `d${from + i}`);
    for (let minute = 0; minute < 30; minute++) {
      await store.seen('p', batch(minute * 1000), Date.now());
      // Never more than the window's devices (two minutes' worth: 2,000) doubled, plus one batch.
      expect(store.seenHeld('p')).toBeLessThanOrEqual(5000);
      vi.advanceTimersByTime(60_000);
    }
    // Nothing inside the window was dropped.
    await store.seen('p', ['fresh'], Date.now());
    expect(await store.active('p', Date.now() - 60_000)).toBe(1001);
    await store.close();
  });

  it('drops a burst of devices once its window has passed, though the table did not double since', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const store = createMemoryVisitors({ keepMs: 60_000 });
    await store.seen(
      'p',
      Array.from({ length: 5000 }, (_, i) => `burst${i}`),
      Date.now(),
    );
    expect(store.seenHeld('p')).toBe(5000);
    vi.advanceTimersByTime(61_000);
    await store.seen('p', ['quiet'], Date.now()); // one device a while later
    expect(store.seenHeld('p')).toBe(1);
    await store.close();
  });

  it('keeps every device of the window however many there are', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const store = createMemoryVisitors({ keepMs: 600_000 });
    for (let i = 0; i < 20; i++) {
      await store.seen(
        'p',
        Array.from({ length: 1000 }, (_, j) => `d${i * 1000 + j}`),
        Date.now(),
      );
      vi.advanceTimersByTime(1000);
    }
    expect(store.seenHeld('p')).toBe(20_000);
    expect(await store.active('p', 0)).toBe(20_000);
    await store.close();
  });
});

describe('memory visitors: the "seen" table\'s size', () => {
  // Guards the times' form: held as epoch milliseconds, each device's last-seen time was a heap
  // number of its own (16 B), ≈ 1.6 MB of the table with 100,000 devices seen.
  it('holds a time per device without a heap number each', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const store = createMemoryVisitors();
    const devices = Array.from({ length: 160_000 }, (_, i) => `device-${i}`);
    const batch = [''];
    await store.seen('p', ['warm-up'], Date.now());
    gc();
    const before = process.memoryUsage().heapUsed;
    const at = Date.now();
    // One device per call, each at its own time, as requests bring them (the batch array reused).
    for (const [i, device] of devices.entries()) {
      batch[0] = device;
      await store.seen('p', batch, at + i);
    }
    gc();
    const held = (process.memoryUsage().heapUsed - before) / devices.length;
    expect(store.seenHeld('p')).toBe(devices.length + 1);
    expect(await store.active('p', at + 159_000)).toBe(1000);
    expect(await store.active('p', at)).toBe(devices.length);
    // 160,000 devices so that what else the worker allocates meanwhile is a small share of a byte.
    expect(held).toBeLessThan(54); // ≈ 47 B; ≈ 62 B with epoch times
  });
});
