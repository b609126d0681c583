// URL ⇄ view: every part of a view survives a round trip through the URL (so a shared or
// reloaded link shows the same thing), odd values survive escaping, and hand-edited junk is
// dropped instead of breaking the page.
import { describe, expect, it } from 'vitest';
import type { View } from '$shared/overview.ts';
import { DEFAULT_RANGE, parseFilter, readView, rowFilter, splitEscaped, viewSearch, withFilter, withoutFilter } from './view.ts';

const url = (search: string) => new URL(`https://lp.example/projects/p1/overview${search}`);
const roundTrip = (v: View) => readView(url(viewSearch(v)));

describe('readView / viewSearch', () => {
  it('reads the default view from a bare URL and writes it back as nothing', () => {
    const v = readView(url(''));
    expect(v).toEqual({ range: DEFAULT_RANGE, compare: 'previous_period', filters: [] });
    expect(viewSearch(v)).toBe('');
  });

  it('round-trips ranges, comparisons, zones and filters', () => {
    const views: View[] = [
      { range: '7d', compare: null, filters: [] },
      { range: ['2024-01-01', '2024-01-31'], compare: 'year_over_year', filters: [], timezone: 'Europe/Berlin' },
      {
        range: 'today',
        compare: 'previous_period',
        filters: [
          ['is', 'geo:country', ['US', 'DE']],
          ['contains', 'event:path', ['/blog,2024', 'back\\slash'], { case_sensitive: false }],
          ['is_not_set', 'event:props:plan', []],
          ['is', 'event:props:a,b', ['x']],
          ['is', 'session:referrer_name', ['']],
        ],
      },
    ];
    for (const v of views) expect(roundTrip(v)).toEqual(v);
  });

  it('keeps unrelated parameters', () => {
    expect(viewSearch({ range: '7d', compare: 'previous_period', filters: [] }, new URLSearchParams('tab=entry&range=30d'))).toBe('?tab=entry&range=7d');
  });

  it('drops what it cannot read', () => {
    const v = readView(
      url('?range=fortnight&compare=maybe&f=like,event:path,x&f=is,time:day,1&f=is,geo:planet,x&f=is_set,event:path,x&f=is,geo:country&tz=%3Cscript%3E'),
    );
    expect(v).toEqual({ range: DEFAULT_RANGE, compare: 'previous_period', filters: [] });
    expect(readView(url('?range=custom&from=2024-02-01&to=2024-01-01')).range).toBe(DEFAULT_RANGE);
  });
});

describe('filters', () => {
  it('splits on unescaped commas only', () => {
    expect(splitEscaped('is,event:path,a\\,b,c\\\\')).toEqual(['is', 'event:path', 'a,b', 'c\\']);
    expect(parseFilter('gt,event:props:n,5')).toEqual(['gt', 'event:props:n', ['5']]);
  });

  it('adds a clicked row once and removes by position', () => {
    const base: View = { range: '7d', compare: null, filters: [] };
    const one = withFilter(base, rowFilter('geo:country', 'DE'));
    expect(withFilter(one, rowFilter('geo:country', 'DE'))).toBe(one);
    const two = withFilter(one, rowFilter('event:path', '/'));
    expect(two.filters).toHaveLength(2);
    expect(withoutFilter(two, 0).filters).toEqual([['is', 'event:path', ['/']]]);
  });
});
