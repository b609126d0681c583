/**
 * Runs a draft through the named enrichment steps in order. A step returns the draft, a
 * `Dropped` value (expected: a bot, a resend), or throws an AppError (this one event is
 * invalid). Step timings go to `livepanel_pipeline_step_seconds`, sampled one event in
 * `sampleEvery` so the measuring does not cost more than the steps themselves.
 */
import type { Metrics } from '../metrics.ts';
import { type Draft, type Dropped, isDropped, type Step } from './types.ts';

/**
 * Runs a draft through the steps: synchronously while every step answers synchronously (all of
 * today's do), so an event pays no promise and no microtask turn per step or per event; from
 * the first step that returns a promise on, asynchronously.
 */
export type Pipeline = (draft: Draft) => Draft | Dropped | Promise<Draft | Dropped>;

export function createPipeline(steps: Step[], opts: { metrics?: Metrics; sampleEvery?: number } = {}): Pipeline {
  const sampleEvery = opts.sampleEvery ?? 64;
  const timers = opts.metrics ? steps.map((s) => opts.metrics!.stepSeconds.labels(s.name)) : undefined;
  let n = 0;

  /** The steps from `from` on (timed: each step's time observed). */
  function runFrom(from: number, current: Draft, timed: boolean): Draft | Dropped | Promise<Draft | Dropped> {
    for (let i = from; i < steps.length; i++) {
      const started = timed ? performance.now() : 0;
      const out = steps[i]!.run(current);
      if (out instanceof Promise) {
        return out.then((next) => {
          if (timed) timers![i]!.observe((performance.now() - started) / 1000);
          return isDropped(next) ? next : runFrom(i + 1, next, timed);
        });
      }
      if (timed) timers![i]!.observe((performance.now() - started) / 1000);
      if (isDropped(out)) return out;
      current = out;
    }
    return current;
  }

  return (draft) => runFrom(0, draft, timers !== undefined && ++n % sampleEvery === 0);
}
