import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config.ts';
import { boundHeapGrowth, growingPercent, MIN_GROWING_PERCENT } from './heap-growth.ts';

const MB = 2 ** 20;

describe('growingPercent', () => {
  it('keeps the percentage while the live heap is smaller than the slack', () => {
    expect(growingPercent(60 * MB, { maxPercent: 100, slackBytes: 96 * MB })).toBe(100);
    expect(growingPercent(96 * MB, { maxPercent: 100, slackBytes: 96 * MB })).toBe(100);
  });

  it('lowers it so the room above a larger live heap stays within the slack', () => {
    expect(growingPercent(192 * MB, { maxPercent: 100, slackBytes: 96 * MB })).toBe(50);
    expect(growingPercent(160 * MB, { maxPercent: 100, slackBytes: 96 * MB })).toBe(60);
  });

  it('never goes under the floor, nor over a lower maximum, and a slack of 0 bounds nothing', () => {
    expect(growingPercent(4000 * MB, { maxPercent: 100, slackBytes: 96 * MB })).toBe(MIN_GROWING_PERCENT);
    expect(growingPercent(4000 * MB, { maxPercent: 20, slackBytes: 96 * MB })).toBe(20);
    expect(growingPercent(4000 * MB, { maxPercent: 100, slackBytes: 0 })).toBe(100);
  });
});

describe('growingPercent with a budget for the whole heap', () => {
  const o = { maxPercent: 100, slackBytes: 96 * MB, targetBytes: 192 * MB };

  it('leaves a live heap under half the budget as the slack alone would', () => {
    expect(growingPercent(60 * MB, o)).toBe(100);
    expect(growingPercent(96 * MB, o)).toBe(100);
  });

  it('shrinks the room as the live heap grows past half the budget, down to the floor', () => {
    // 100,000 open sessions and their caches: ≈ 190 MB live under /ws. The slack alone allows
    // 96 MB of room (50 %); the budget allows what is left of 192 MB, under the floor here.
    expect(growingPercent(190 * MB, { maxPercent: 100, slackBytes: 96 * MB })).toBe(50);
    expect(growingPercent(190 * MB, o)).toBe(MIN_GROWING_PERCENT);
    expect(growingPercent(128 * MB, o)).toBe(50); // 64 MB left of the budget
    expect(growingPercent(150 * MB, o)).toBe(28); // 42 MB left
    expect(growingPercent(400 * MB, o)).toBe(MIN_GROWING_PERCENT);
  });

  it('applies without a slack, and a budget of 0 bounds nothing', () => {
    expect(growingPercent(128 * MB, { maxPercent: 100, slackBytes: 0, targetBytes: 192 * MB })).toBe(50);
    expect(growingPercent(128 * MB, { maxPercent: 100, slackBytes: 0, targetBytes: 0 })).toBe(100);
  });
});

describe('boundHeapGrowth', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    v8.setFlagsFromString('--heap-growing-percent=0');
  });

  it('sets the lowered percentage after a full collection', async () => {
    const set = vi.spyOn(v8, 'setFlagsFromString');
    // A slack of 1 MB is far below this process's live heap: the floor applies.
    const stop = boundHeapGrowth({ maxPercent: 100, slackMb: 1 });
    expect(set).toHaveBeenLastCalledWith('--heap-growing-percent=100');
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
    await vi.waitFor(() => expect(set).toHaveBeenLastCalledWith(`--heap-growing-percent=${MIN_GROWING_PERCENT}`));
    stop();
  });

  it('lowers it with a budget alone (no slack)', async () => {
    const set = vi.spyOn(v8, 'setFlagsFromString');
    // A budget of 1 MB: this process's live heap is far over it, so the floor applies.
    const stop = boundHeapGrowth({ maxPercent: 100, slackMb: 0, targetMb: 1 });
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
    await vi.waitFor(() => expect(set).toHaveBeenLastCalledWith(`--heap-growing-percent=${MIN_GROWING_PERCENT}`));
    stop();
  });
});

describe('V8_HEAP_TARGET_MB', () => {
  it('budgets 192 MB in the embedded shape, not elsewhere; 0 turns it off', () => {
    expect(loadConfig({}).heapTargetMb).toBe(192);
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/lp' }).heapTargetMb).toBe(0);
    expect(loadConfig({ V8_HEAP_TARGET_MB: '0' }).heapTargetMb).toBe(0);
    expect(() => loadConfig({ V8_HEAP_TARGET_MB: '-5' })).toThrow(/V8_HEAP_TARGET_MB/);
  });
});

describe('V8_HEAP_SLACK_MB', () => {
  it('bounds the growth at 96 MB in the embedded shape, not elsewhere; 0 turns it off', () => {
    expect(loadConfig({}).heapSlackMb).toBe(96);
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/lp' }).heapSlackMb).toBe(0);
    expect(loadConfig({ V8_HEAP_SLACK_MB: '0' }).heapSlackMb).toBe(0);
    expect(() => loadConfig({ V8_HEAP_SLACK_MB: '-1' })).toThrow(/V8_HEAP_SLACK_MB/);
  });
});
