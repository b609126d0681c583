/**
 * The pipeline runner. Guards against: a step that returns a promise being skipped or its
 * answer lost once the runner goes synchronously for synchronous steps; a drop in an
 * asynchronous step not stopping the steps after it; sampled step timings missing a step.
 */
import { describe, expect, it } from 'vitest';
import { TrackBody } from '../../shared/track.ts';
import { createMetrics } from '../metrics.ts';
import { newDraft } from './draft.ts';
import { createPipeline } from './pipeline.ts';
import type { Caller, Draft, Step } from './types.ts';

const caller: Caller = { projectId: 'p', clientId: 'c', clientType: 'write', viaSecret: false };
const draft = () =>
  newDraft(
    caller,
    { ip: '203.0.113.9', userAgent: 'ua', origin: 'https://example.com', sdkName: 'web', sdkVersion: '1', receivedAt: Date.UTC(2025, 0, 1) },
    TrackBody.parse({ type: 'track', payload: { name: 'e' } }),
  );
const mark = (name: string): Step => ({ name, run: (d: Draft) => ({ ...d, row: { ...d.row, name: `${d.row.name}>${name}` } }) });
const later = (step: Step): Step => ({ name: step.name, run: async (d) => step.run(d) });

describe('createPipeline', () => {
  it('answers synchronously when every step does', () => {
    const out = createPipeline([mark('a'), mark('b')])(draft());
    expect(out).not.toBeInstanceOf(Promise);
    expect((out as Draft).row.name).toBe('e>a>b');
  });

  it('goes on asynchronously from a step that returns a promise, in order', async () => {
    const out = createPipeline([mark('a'), later(mark('b')), mark('c'), later(mark('d'))])(draft());
    expect(out).toBeInstanceOf(Promise);
    expect(((await out) as Draft).row.name).toBe('e>a>b>c>d');
  });

  it('stops at a drop, synchronous or not', async () => {
    let ran = 0;
    const after: Step = {
      name: 'after',
      run: (d) => {
        ran++;
        return d;
      },
    };
    const drop: Step = { name: 'bots', run: () => ({ dropped: 'bot' }) };
    expect(createPipeline([drop, after])(draft())).toEqual({ dropped: 'bot' });
    expect(await createPipeline([mark('a'), later(drop), after])(draft())).toEqual({ dropped: 'bot' });
    expect(ran).toBe(0);
  });

  it('times every step of a sampled event, the asynchronous ones too', async () => {
    const metrics = createMetrics();
    await createPipeline([mark('a'), later(mark('b')), mark('c')], { metrics, sampleEvery: 1 })(draft());
    const counts = (await metrics.stepSeconds.get()).values.filter((v) => v.metricName?.endsWith('_count')).map((v) => [v.labels.step, v.value]);
    expect(counts.sort()).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
  });
});
