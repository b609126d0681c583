/**
 * How far V8 lets the JS heap grow past what its last full collection kept before collecting
 * again (`--heap-growing-percent`), with the growth bounded in megabytes too. A percentage
 * alone grows with the live heap: the embedded server holding 100,000 open sessions and its
 * caches (≈ +100 MB live) was allowed ≈ +100 MB more garbage under `/ws` than the same server
 * fresh, which took the peak past 1 GB (docs/benchmarks.md, "Long-lived state and the heap's
 * growth"). After each full collection the percentage is set so that the room above the live
 * heap is at most `slackBytes`: unchanged while the live heap is smaller than that, lower as it
 * grows. V8 reads the flag when a full collection computes the next limit, so a new value
 * applies from the collection after the one that measured it.
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Lowest percentage set: below it full collections come so often they cost more than the memory saved. */
export const MIN_GROWING_PERCENT = 25;

/** The growing percentage for a live heap of `liveBytes`: `maxPercent`, lowered so the room above the live heap stays within `slackBytes`. */
export function growingPercent(liveBytes: number, o: { maxPercent: number; slackBytes: number }): number {
  if (o.slackBytes <= 0 || liveBytes <= 0) return o.maxPercent;
  const bounded = Math.floor((100 * o.slackBytes) / liveBytes);
  return Math.max(Math.min(o.maxPercent, MIN_GROWING_PERCENT), Math.min(o.maxPercent, bounded));
}

/**
 * Sets `--heap-growing-percent` to `maxPercent` and, with `slackMb` > 0, lowers it after each
 * full collection as `growingPercent` says. Returns a function that stops watching.
 */
export function boundHeapGrowth(o: { maxPercent: number; slackMb: number }): () => void {
  let current = o.maxPercent;
  v8.setFlagsFromString(`--heap-growing-percent=${current}`);
  if (o.slackMb <= 0) return () => {};
  const watch = new PerformanceObserver((list) => {
    const major = list.getEntries().some((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major) return;
    // Read once the collection is over: what it kept plus what was allocated since (little).
    const next = growingPercent(v8.getHeapStatistics().used_heap_size, { maxPercent: o.maxPercent, slackBytes: o.slackMb * 2 ** 20 });
    if (next === current) return;
    current = next;
    v8.setFlagsFromString(`--heap-growing-percent=${current}`);
  });
  watch.observe({ entryTypes: ['gc'] });
  return () => watch.disconnect();
}
