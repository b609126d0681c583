import { describe, expect, it } from 'vitest';
import { CH_TIME_MAX, CH_TIME_MIN, chTime } from './rows.ts';

/** The plain formatting chTime caches: Date's ISO text, clamped to the column's range. */
const formatted = (ms: number) =>
  new Date(Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, CH_TIME_MIN), CH_TIME_MAX)).toISOString().replace('T', ' ').slice(0, 23);

describe('chTime', () => {
  // Guards the cached second: a time in another second, or alternating within one, must never
  // come out with the previous answer's date.
  it('formats every time as Date does, whatever came before it', () => {
    const times = [0, 1, 999, 1000, -1, -999, -1000, -1001, 1.5, -1.5, 1_733_000_000_000, 1_733_000_000_999.7, 1_732_999_999_999, 1_733_000_000_001];
    times.push(CH_TIME_MIN, CH_TIME_MAX, CH_TIME_MIN - 5, CH_TIME_MAX + 5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      times.push(((seed / 2 ** 31) * 2 - 0.6) * 1e13, 1_733_000_000_000 + (seed % 3000));
    }
    for (const t of times) expect(chTime(t)).toBe(formatted(t));
  });

  it('writes the session_start and event times of one request, a millisecond apart', () => {
    expect(chTime(1_733_000_000_000)).toBe('2024-11-30 20:53:20.000');
    expect(chTime(1_732_999_999_999)).toBe('2024-11-30 20:53:19.999');
    expect(chTime(1_733_000_000_000)).toBe('2024-11-30 20:53:20.000');
  });
});
