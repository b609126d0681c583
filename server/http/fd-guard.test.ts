import { describe, expect, it } from 'vitest';
import { createFdGuard } from './fd-guard.ts';

describe('fd guard', () => {
  it('pauses near the limit and resumes well below it (hysteresis)', () => {
    let fds = 100;
    const calls: string[] = [];
    const guard = createFdGuard({ limit: 1000, count: () => fds, pause: () => calls.push('pause'), resume: () => calls.push('resume'), intervalMs: 60_000 });
    guard.check();
    expect(calls).toEqual([]);
    fds = 936; // limit − 64
    guard.check();
    guard.check();
    expect(calls).toEqual(['pause']);
    expect(guard.paused).toBe(true);
    fds = 850; // below pauseAt, not yet below resumeAt (808)
    guard.check();
    expect(calls).toEqual(['pause']);
    fds = 700;
    guard.check();
    expect(calls).toEqual(['pause', 'resume']);
    expect(guard.paused).toBe(false);
    guard.stop();
  });

  it('takes a failure to count for lack of descriptors as being out of them', () => {
    const calls: string[] = [];
    const emfile = Object.assign(new Error('too many open files'), { code: 'EMFILE' });
    const guard = createFdGuard({
      limit: 1000,
      count: () => {
        throw emfile;
      },
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      intervalMs: 60_000,
    });
    guard.check();
    expect(calls).toEqual(['pause']);
    guard.stop();
  });

  it('counts this process’s descriptors from /proc', () => {
    const guard = createFdGuard({ limit: 1_000_000, pause: () => {}, resume: () => {} });
    guard.check(); // reads /proc/self/fd without throwing
    expect(guard.paused).toBe(false);
    guard.stop();
  });
});
