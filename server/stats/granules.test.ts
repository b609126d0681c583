// Which granules a range of whole UTC days is read at: whole months, then whole weeks, then
// days, never across a time bucket of the query.
import { describe, expect, it } from 'vitest';
import { dayPieces, granuleSource } from './granules.ts';
import { Params } from './sql.ts';

const d = (s: string) => Date.parse(`${s}T00:00:00Z`);
const runs = (r: Array<[number, number]>) => r.map(([a, b]) => `${new Date(a).toISOString().slice(0, 10)}..${new Date(b).toISOString().slice(0, 10)}`);
const pieces = (from: string, to: string, grain?: 'day' | 'week' | 'month', cuts: string[] = []) => {
  const p = dayPieces(d(from), d(to), grain, cuts.map(d));
  return { monthly: runs(p.monthly), weekly: runs(p.weekly), daily: runs(p.daily) };
};

describe('dayPieces', () => {
  it('reads a whole month as one month', () => {
    expect(pieces('2026-11-01', '2026-12-01')).toEqual({ monthly: ['2026-11-01..2026-12-01'], weekly: [], daily: [] });
  });

  it('reads the weeks inside a range, and the days around them', () => {
    // 2 – 31 October 2026: Friday to Saturday; Mondays 5, 12, 19, 26 (the last week ends after the range).
    expect(pieces('2026-10-02', '2026-11-01')).toEqual({
      monthly: [],
      weekly: ['2026-10-05..2026-10-26'],
      daily: ['2026-10-02..2026-10-05', '2026-10-26..2026-11-01'],
    });
  });

  it('takes whole months before weeks, then weeks on either side', () => {
    // 19 October (Monday) – 17 November 2026: November is not whole, October's tail is two weeks.
    expect(pieces('2026-10-19', '2026-11-17')).toEqual({ monthly: [], weekly: ['2026-10-19..2026-11-16'], daily: ['2026-11-16..2026-11-17'] });
    expect(pieces('2026-09-28', '2026-12-02')).toEqual({
      monthly: ['2026-10-01..2026-12-01'],
      weekly: [],
      daily: ['2026-09-28..2026-10-01', '2026-12-01..2026-12-02'],
    });
  });

  it('never spans two buckets of the time dimension', () => {
    expect(pieces('2026-11-01', '2026-11-04', 'day', ['2026-11-01', '2026-11-02', '2026-11-03'])).toEqual({
      monthly: [],
      weekly: [],
      daily: ['2026-11-01..2026-11-04'],
    });
    // Weekly buckets from Monday 26 October: a partial first week is read as days.
    expect(pieces('2026-10-28', '2026-11-16', 'week', ['2026-10-26', '2026-11-02', '2026-11-09'])).toEqual({
      monthly: [],
      weekly: ['2026-11-02..2026-11-16'],
      daily: ['2026-10-28..2026-11-02'],
    });
    // Monthly buckets: the week of 26 October – 1 November belongs to two months, so it is read as days.
    expect(pieces('2026-10-12', '2026-12-01', 'month', ['2026-10-01', '2026-11-01'])).toEqual({
      monthly: ['2026-11-01..2026-12-01'],
      weekly: ['2026-10-12..2026-10-26'],
      daily: ['2026-10-26..2026-11-01'],
    });
  });
});

describe('granuleSource', () => {
  it('reads the daily table alone when no week fits, else a union of the levels with the conditions in every branch', () => {
    const p = new Params();
    const plain = granuleSource(
      'visits',
      { from: d('2026-11-03'), to: d('2026-11-05') },
      undefined,
      [],
      ['project_id = {project:String}', 'dimension = {dim:String}'],
      p,
    );
    expect(plain.from).toBe('visits_daily');
    expect(plain.sources).toEqual(['visits_daily']);
    expect(plain.where[0]).toBe('project_id = {project:String}');
    const q = new Params();
    const mixed = granuleSource('events', { from: d('2026-10-30'), to: d('2026-12-01') }, undefined, [], ['project_id = {project:String}', "name = 'x'"], q);
    expect(mixed.sources).toEqual(['events_monthly', 'events_daily']);
    expect(mixed.where).toEqual([]);
    expect(mixed.from).toBe(
      "(SELECT bucket, name, events, devices, sessions FROM events_periods WHERE project_id = {project:String} AND period = 'month' AND bucket = {p0:DateTime64(3, 'UTC')} AND name = 'x'\n" +
        "  UNION ALL SELECT bucket, name, events, devices, sessions FROM events_daily WHERE project_id = {project:String} AND (bucket >= {p1:DateTime64(3, 'UTC')} AND bucket < {p2:DateTime64(3, 'UTC')}) AND name = 'x')",
    );
    expect(q.values).toEqual({ p0: '2026-11-01 00:00:00.000', p1: '2026-10-30 00:00:00.000', p2: '2026-11-01 00:00:00.000' });
  });
});
