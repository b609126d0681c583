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

  it('holds a reserve while accepting and frees it while paused, so storage can open files when sockets took the rest', () => {
    // Guards the starvation seen with a flood of idle connections: accepted sockets held every
    // descriptor up to the limit, and pausing the listener freed none, so chDB's inserts kept
    // failing with EMFILE until the clients left.
    let fds = 100;
    let next = 1000;
    const open = new Set<number>();
    const calls: string[] = [];
    const guard = createFdGuard({
      limit: 1000,
      reserve: 50,
      count: () => fds + open.size,
      openReserve: () => {
        if (fds + open.size >= 1000) throw Object.assign(new Error('EMFILE'), { code: 'EMFILE' });
        open.add(next);
        return next++;
      },
      closeReserve: (fd) => open.delete(fd),
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      intervalMs: 60_000,
    });
    expect(guard.reserved).toBe(50);
    fds = 950; // with the reserve: the limit, where accept() fails
    guard.check();
    expect(calls).toEqual(['pause']);
    expect(open.size).toBe(0); // 50 descriptors free for storage
    fds = 760; // 760 + the reserve of 50 is not below resumeAt (808): stay paused
    guard.check();
    expect(calls).toEqual(['pause']);
    expect(guard.reserved).toBe(0);
    fds = 700;
    guard.check();
    expect(calls).toEqual(['pause', 'resume']);
    expect(guard.reserved).toBe(50); // taken back before listening again
    guard.stop();
    expect(open.size).toBe(0);
  });

  it('stays paused when the reserve cannot be taken back', () => {
    let fds = 0;
    let failOpen = false;
    const calls: string[] = [];
    const guard = createFdGuard({
      limit: 1000,
      reserve: 10,
      count: () => fds,
      openReserve: () => {
        if (failOpen) throw Object.assign(new Error('EMFILE'), { code: 'EMFILE' });
        return 1;
      },
      closeReserve: () => {},
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      intervalMs: 60_000,
    });
    fds = 990;
    guard.check();
    fds = 100;
    failOpen = true;
    guard.check();
    expect(calls).toEqual(['pause']);
    expect(guard.paused).toBe(true);
    failOpen = false;
    guard.check();
    expect(calls).toEqual(['pause', 'resume']);
    guard.stop();
  });

  it('counts this process’s descriptors from /proc', () => {
    const guard = createFdGuard({ limit: 1_000_000, pause: () => {}, resume: () => {} });
    guard.check(); // reads /proc/self/fd without throwing
    expect(guard.paused).toBe(false);
    guard.stop();
  });
});
