import { describe, expect, it } from 'vitest';
import { createMemorySessionStore } from '../../engines/sessions.memory.ts';
import { newDraft } from '../draft.ts';
import type { SaltSource } from '../salts.ts';
import type { Draft } from '../types.ts';
import { createDeviceIdStep } from './device-id.ts';
import { createSessionStep } from './session.ts';

const DAY = 86_400_000;
const TIMEOUT = 30 * 60_000;
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const dailySalts: SaltSource = {
  salts(now) {
    const day = Math.floor(now / DAY);
    return { current: `salt-${day}`, previous: `salt-${day - 1}` };
  },
};

/** One visitor's page view at `at`, through the device-id step as the pipeline wires it. */
function view(at: number): Draft {
  const d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret: false },
    { ip: '8.8.8.8', userAgent: UA, origin: '', sdkName: 'web', sdkVersion: '1', receivedAt: at },
    { type: 'track', payload: { name: 'screen_view', properties: {} } },
  );
  return createDeviceIdStep({ salts: dailySalts, previousWithinMs: TIMEOUT }).run(d) as Draft;
}

describe('session step across UTC midnight', () => {
  // Guards the device-id step's shortcut (yesterday's id only in the first TIMEOUT of the day):
  // a visit running across midnight must stay one session, whether its hits come one by one or in a batch.
  it('keeps a session opened before midnight under yesterday’s device id', async () => {
    for (const many of [false, true]) {
      const step = createSessionStep({ sessions: createMemorySessionStore({ timeoutMs: TIMEOUT }), timeoutMs: TIMEOUT });
      const run = async (d: Draft) => (many ? step.runMany([d]).then(() => d) : (step.run(d) as Promise<Draft>));
      const before = await run(view(Date.UTC(2025, 0, 15, 23, 50)));
      const after = await run(view(Date.UTC(2025, 0, 16, 0, 10)));
      expect(after.row.session_id).toBe(before.row.session_id);
      expect(after.row.device_id).toBe(before.row.device_id);
      expect(after.sessionStarted).toBe(false);
      // Past the window the old session has expired anyway: today's id opens a new one.
      const later = await run(view(Date.UTC(2025, 0, 16, 0, 45)));
      expect(later.sessionStarted).toBe(true);
      expect(later.row.device_id).not.toBe(before.row.device_id);
    }
  });
});

describe('session step, per request', () => {
  // Guards a cost, not a behaviour: a seed written in place as `seed: () => …` is a named
  // function, and under tsx (esbuild's keepNames) naming it is a defineProperty on every
  // closure, once per `/track` request (≈ 3 % of the main thread, docs/benchmarks.md).
  it('gives the store an unnamed seed per hit, which opens the session of that hit', async () => {
    const store = createMemorySessionStore({ timeoutMs: TIMEOUT });
    const seeds: Array<() => unknown> = [];
    const touchMany = store.touchMany.bind(store);
    store.touchMany = (projectId, hits) => {
      for (const h of hits) seeds.push(h.seed);
      return touchMany(projectId, hits);
    };
    const step = createSessionStep({ sessions: store, timeoutMs: TIMEOUT });
    const d = view(Date.UTC(2025, 0, 15, 12, 0));
    await step.runMany([d]);
    expect(seeds).toHaveLength(1);
    expect(seeds[0]!.name).toBe('');
    expect(d.sessionStarted).toBe(true);
    expect(d.row.session_id).not.toBe('');
  });
});
