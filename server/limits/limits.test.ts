import { describe, expect, it } from 'vitest';
import type { ProjectRateLimits } from '../../shared/rate-limits.ts';
import { createGate } from './gate.ts';
import { createLimits, RATE_LIMIT_NAMES, type RateLimitName } from './limits.ts';

const off = Object.fromEntries(RATE_LIMIT_NAMES.map((n) => [n, null])) as Record<RateLimitName, null>;

function setup(overrides: Record<string, ProjectRateLimits> = {}) {
  let t = 1_000_000;
  const reads: string[] = [];
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const limits = createLimits({
    config: { enabled: true, defaults: { ...off, 'browser-events': { points: 3, seconds: 60 } } },
    gate: createGate({ now: () => t }),
    loadOverrides: async (projectId) => {
      reads.push(projectId);
      await held;
      return overrides[projectId] ?? {};
    },
  });
  return { limits, reads, release, advance: (ms: number) => (t += ms) };
}

const visitor = { projectId: 'p1', clientId: 'c1', viaSecret: false };

// Guards the answer without a promise that `/track` takes first: it must spend the same budget
// as `events`, and never answer before the project's own rules are known.
describe('events without waiting (eventsNow)', () => {
  it('answers nothing until the project’s rules are read, then spends the same budget as events', async () => {
    const { limits, reads, release } = setup({ p1: { 'browser-events': '2/1m' } });
    expect(limits.eventsNow(visitor, '1.2.3.4', 1)).toBeUndefined();
    const first = limits.events(visitor, '1.2.3.4', 1);
    expect(limits.eventsNow(visitor, '1.2.3.4', 1)).toBeUndefined(); // still being read
    release();
    expect(await first).toEqual({ allowed: true });
    // The project's override (2 a minute), not the default (3): the second is the last allowed.
    expect(limits.eventsNow(visitor, '1.2.3.4', 1)).toEqual({ allowed: true });
    expect(limits.eventsNow(visitor, '1.2.3.4', 1)).toMatchObject({ allowed: false });
    expect(await limits.events(visitor, '1.2.3.4', 1)).toMatchObject({ allowed: false });
    // Another visitor's address has its own budget.
    expect(limits.eventsNow(visitor, '5.6.7.8', 1)).toEqual({ allowed: true });
    expect(reads).toEqual(['p1']);
  });

  it('answers nothing again once the project is forgotten, until its rules are read again', async () => {
    const { limits, reads, release } = setup();
    release();
    await limits.events(visitor, '1.2.3.4', 1);
    expect(limits.eventsNow(visitor, '1.2.3.4', 1)).toEqual({ allowed: true });
    limits.forget('p1');
    expect(limits.eventsNow(visitor, '1.2.3.4', 1)).toBeUndefined();
    await limits.events(visitor, '1.2.3.4', 1);
    expect(limits.eventsNow(visitor, '1.2.3.4', 1)).toMatchObject({ allowed: false }); // 3 a minute, all spent
    expect(reads).toEqual(['p1', 'p1']);
  });

  it('allows everything at once when limits are off', () => {
    const limits = createLimits({
      config: { enabled: false, defaults: off },
      gate: createGate(),
      loadOverrides: () => {
        throw new Error('not read when off');
      },
    });
    expect(limits.eventsNow(visitor, '1.2.3.4', 1_000_000)).toEqual({ allowed: true });
  });
});
