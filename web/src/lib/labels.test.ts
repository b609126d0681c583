// Metric values, changes and dimension values as the dashboard shows them.
import { describe, expect, it } from 'vitest';
import { dimensionLabel, filterLabel, formatChange, formatDuration, formatMetric, metricLabel, treeLabel, valueLabel } from './labels.ts';

describe('labels', () => {
  it('formats each kind of metric', () => {
    expect(formatMetric('visitors', 1234)).toBe((1234).toLocaleString());
    expect(formatMetric('visitors', 123_456, { compact: true })).toMatch(/123(\.5)?K/);
    expect(formatMetric('bounce_rate', 42.345)).toBe('42%');
    expect(formatMetric('conversion_rate', 2.345)).toBe('2.3%');
    expect(formatMetric('session_duration', 185)).toBe('3m 05s');
    expect(formatMetric('views_per_session', 2.5)).toBe('2.5');
    expect(formatMetric('bounce_rate', null)).toBe('–');
    expect(formatDuration(3725)).toBe('1h 02m');
  });

  it('says whether a change is good news', () => {
    expect(formatChange('visitors', 12.34, 100)).toEqual({ text: '+12%', direction: 'up', good: true });
    expect(formatChange('bounce_rate', 3.2, 40)).toEqual({ text: '+3.2 pt', direction: 'up', good: false });
    expect(formatChange('bounce_rate', -5, 40)).toMatchObject({ direction: 'down', good: true });
    expect(formatChange('visitors', null, 0)).toEqual({ text: 'new', direction: 'new', good: null });
    expect(formatChange('visitors', 0, 10)).toMatchObject({ direction: 'flat', good: null });
  });

  it('names dimensions, values and filters', () => {
    expect(metricLabel('sum:cart.total')).toBe('sum of cart.total');
    expect(dimensionLabel('event:props:plan')).toBe('Property plan');
    expect(valueLabel('session:referrer_name', '')).toBe('Direct / none');
    expect(valueLabel('device:brand', '')).toBe('(not set)');
    expect(valueLabel('geo:country', 'DE')).not.toBe('DE');
    expect(filterLabel(['is', 'event:path', ['/a', '/b']])).toBe('Page is /a or /b');
    expect(filterLabel(['is_set', 'event:props:plan', []])).toBe('Property plan is set');
    expect(
      treeLabel([
        'or',
        [
          ['is', 'event:path', ['/a']],
          ['not', ['is_set', 'event:props:plan', []]],
        ],
      ]),
    ).toBe('(Page is /a or not Property plan is set)');
    expect(treeLabel(['and', [['is', 'event:path', ['/a']]]])).toBe('Page is /a');
  });
});
