import { describe, expect, it } from 'vitest';
import { formatRateSpec, ProjectRateLimits, parseRateSpec } from './rate-limits.ts';

describe('rate limit settings', () => {
  it('reads points per duration in s, m, h, and off', () => {
    expect(parseRateSpec('1000/10s')).toEqual({ points: 1000, seconds: 10 });
    expect(parseRateSpec(' 600 / 1m ')).toEqual({ points: 600, seconds: 60 });
    expect(parseRateSpec('50000/1h')).toEqual({ points: 50000, seconds: 3600 });
    expect(parseRateSpec('5/s')).toEqual({ points: 5, seconds: 1 });
    expect(parseRateSpec('OFF')).toBeNull();
  });
  it('refuses anything else', () => {
    for (const bad of ['', '0/1s', '10/0s', '10', '1.5/1s', '-1/1s', '10/1d', 'ten/1s', '10/25h']) expect(() => parseRateSpec(bad), bad).toThrow(RangeError);
  });
  it('formats what it reads', () => {
    for (const t of ['1000/10s', '600/1m', '50000/1h', 'off', '7/90s']) expect(formatRateSpec(parseRateSpec(t))).toBe(t);
  });
  it('validates a project override object', () => {
    expect(ProjectRateLimits.safeParse({ 'browser-events': '2000/10s', read: 'off' }).success).toBe(true);
    expect(ProjectRateLimits.safeParse({ 'browser-events': 'lots' }).success).toBe(false);
    expect(ProjectRateLimits.safeParse({ 'ws-connects': '1/1s' }).success).toBe(false);
  });
});
