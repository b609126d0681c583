// Filters evaluated on in-memory rows (what live ticks and tiles use) mean what the SQL means:
// each operator, negations as exact complements, case folding, numbers, session attributes
// read from a session_start row, and dimensions a live row cannot answer refused.
import { describe, expect, it } from 'vitest';
import type { FilterTree } from '../../shared/query.ts';
import { blankEventRow } from '../../shared/rows.ts';
import { rowPredicate } from './filters.ts';

const row = blankEventRow({
  name: 'screen_view',
  path: '/Pricing/teams',
  country: 'DE',
  referrer_name: 'Google',
  properties: { amount: '42.5', plan: 'pro', empty: '' },
});
const test = (...filters: FilterTree[]) => rowPredicate(filters)(row);

describe('rowPredicate', () => {
  it.each<[FilterTree, boolean]>([
    [['is', 'event:path', ['/Pricing/teams']], true],
    [['is', 'event:path', ['/pricing/teams']], false],
    [['is', 'event:path', ['/pricing/teams'], { case_sensitive: false }], true],
    [['contains', 'event:path', ['cing/']], true],
    [['contains', 'event:path', ['CING'], { case_sensitive: false }], true],
    [['starts_with', 'event:path', ['/x', '/Pri']], true],
    [['ends_with', 'event:path', ['teams']], true],
    [['matches', 'event:path', ['^/pricing/\\w+$']], false],
    [['matches', 'event:path', ['^/pricing/\\w+$'], { case_sensitive: false }], true],
    [['gt', 'event:props:amount', [42]], true],
    [['gte', 'event:props:amount', ['42.5']], true],
    [['lt', 'event:props:amount', [42.5]], false],
    [['lte', 'event:props:plan', [100]], false], // not a number: never matches
    [['is_set', 'event:props:plan', []], true],
    [['is_set', 'event:props:empty', []], false],
    [['is_set', 'event:props:absent', []], false],
    [['is', 'session:referrer_name', ['Google']], true],
    [['is', 'geo:country', ['DE', 'FR']], true],
  ])('%j → %s', (f, expected) => {
    expect(test(f)).toBe(expected);
    // The negative operator is exactly the complement of the positive one.
    const neg = { is: 'is_not', contains: 'not_contains', matches: 'not_matches', is_set: 'is_not_set' }[f[0] as string];
    if (neg) expect(test([neg, ...f.slice(1)] as FilterTree)).toBe(!expected);
  });

  it('combines with and, or, not and the implicit and of a list', () => {
    const de: FilterTree = ['is', 'geo:country', ['DE']];
    const fr: FilterTree = ['is', 'geo:country', ['FR']];
    expect(test(['or', [fr, de]])).toBe(true);
    expect(test(['and', [fr, de]])).toBe(false);
    expect(test(['not', fr])).toBe(true);
    expect(test(de, fr)).toBe(false);
    expect(test()).toBe(true);
  });

  it('refuses dimensions a live row cannot answer', () => {
    expect(() => rowPredicate([['is', 'profile:props:tier', ['x']]])).toThrow(/cannot be evaluated/);
    expect(() => rowPredicate([['is', 'session:exit_path', ['/']]])).toThrow(/cannot be evaluated/);
  });
});
