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
 *
 * A budget for the whole heap (`targetBytes`) lowers the room further once the live heap is
 * large: live + room stays within the budget, down to the floor of MIN_GROWING_PERCENT. A fixed
 * room still let a server holding 100,000 open sessions (≈ 190 MB live under `/ws`) grow its
 * heap ≈ 90 MB past a fresh server's at the `/ws` peak (≈ 100 MB live, 100 % room), over 1 GB
 * of RSS; with the budget the room shrinks as long-lived state grows (docs/benchmarks.md,
 * "A budget for the heap"). A server whose live heap stays under half the budget is unaffected.
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Lowest percentage set: below it full collections come so often they cost more than the memory saved. */
export const MIN_GROWING_PERCENT = 25;

/**
 * The growing percentage for a live heap of `liveBytes`: `maxPercent`, lowered so the room above
 * the live heap stays within `slackBytes` and the live heap plus its room within `targetBytes`
 * (0: no bound), never under MIN_GROWING_PERCENT (or `maxPercent` if lower).
 */
export function growingPercent(liveBytes: number, o: { maxPercent: number; slackBytes: number; targetBytes?: number }): number {
  if (liveBytes <= 0) return o.maxPercent;
  let room = Number.POSITIVE_INFINITY;
  if (o.slackBytes > 0) room = o.slackBytes;
  if (o.targetBytes && o.targetBytes > 0) room = Math.min(room, Math.max(0, o.targetBytes - liveBytes));
  if (room === Number.POSITIVE_INFINITY) return o.maxPercent;
  const bounded = Math.floor((100 * room) / liveBytes);
  return Math.max(Math.min(o.maxPercent, MIN_GROWING_PERCENT), Math.min(o.maxPercent, bounded));
}

/**
 * Sets `--heap-growing-percent` to `maxPercent` and, with `slackMb` or `targetMb` > 0, lowers it
 * after each full collection as `growingPercent` says. Returns a function that stops watching.
 */
export function boundHeapGrowth(o: { maxPercent: number; slackMb: number; targetMb?: number }): () => void {
  let current = o.maxPercent;
  v8.setFlagsFromString(`--heap-growing-percent=${current}`);
  const targetBytes = (o.targetMb ?? 0) * 2 ** 20;
  if (o.slackMb <= 0 && targetBytes <= 0) return () => {};
  const watch = new PerformanceObserver((list) => {
    const major = list.getEntries().some((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major) return;
    // Read once the collection is over: what it kept plus what was allocated since (little).
    const next = growingPercent(v8.getHeapStatistics().used_heap_size, {
      maxPercent: o.maxPercent,
      slackBytes: o.slackMb * 2 ** 20,
      targetBytes,
    });
    if (next === current) return;
    current = next;
    v8.setFlagsFromString(`--heap-growing-percent=${current}`);
  });
  watch.observe({ entryTypes: ['gc'] });
  return () => watch.disconnect();
}
