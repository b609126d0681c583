// The watchdog on a fake clock: it fires after the silence while the link claims to be up, not
// while heartbeats keep coming, not while the link is already down, and once per silence.
// Guards against a TV showing `live` for tens of seconds after a silent network loss.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startWatchdog } from './watchdog.ts';

describe('live watchdog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires after the silence, not while heartbeats come, and once per silence', () => {
    const silent: number[] = [];
    let up = true;
    const w = startWatchdog({ silenceMs: 6000, watching: () => up, onSilent: (ms) => silent.push(ms) });
    for (let s = 0; s < 20; s++) {
      vi.advanceTimersByTime(1000);
      w.heard(); // a heartbeat every second
    }
    expect(silent).toEqual([]);
    vi.advanceTimersByTime(5000);
    expect(silent).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(silent).toEqual([6000]);
    vi.advanceTimersByTime(3000);
    expect(silent).toHaveLength(1); // once per silence
    // While the link is down (reconnecting) silence is expected: nothing fires.
    up = false;
    vi.advanceTimersByTime(60_000);
    expect(silent).toHaveLength(1);
    // Up again (connected): a new silence counts from then.
    up = true;
    vi.advanceTimersByTime(5000);
    expect(silent).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(silent).toHaveLength(2);
    w.stop();
    vi.advanceTimersByTime(60_000);
    expect(silent).toHaveLength(2);
  });
});
