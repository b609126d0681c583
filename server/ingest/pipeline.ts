/**
 * Runs a draft through the named enrichment steps in order. A step returns the draft, a
 * `Dropped` value (expected: a bot, a resend), or throws an AppError (this one event is
 * invalid). Step timings go to `livepanel_pipeline_step_seconds`, sampled one event in
 * `sampleEvery` so the measuring does not cost more than the steps themselves.
 */
import type { Metrics } from '../metrics.ts';
import { type Draft, type Dropped, isDropped, type Step } from './types.ts';

export type Pipeline = (draft: Draft) => Promise<Draft | Dropped>;

export function createPipeline(steps: Step[], opts: { metrics?: Metrics; sampleEvery?: number } = {}): Pipeline {
  const sampleEvery = opts.sampleEvery ?? 64;
  const timers = opts.metrics ? steps.map((s) => opts.metrics!.stepSeconds.labels(s.name)) : undefined;
  let n = 0;

  return async function run(draft) {
    const timed = timers !== undefined && ++n % sampleEvery === 0;
    let current: Draft | Dropped = draft;
    for (let i = 0; i < steps.length; i++) {
      const started = timed ? performance.now() : 0;
      const out = steps[i]!.run(current);
      current = out instanceof Promise ? await out : out;
      if (timed) timers![i]!.observe((performance.now() - started) / 1000);
      if (isDropped(current)) return current;
    }
    return current;
  };
}
