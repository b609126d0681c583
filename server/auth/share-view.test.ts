// What a share link's socket may watch: its view's tiles as the dashboard asks for them (a
// board's "since 09:00" across the screen's clock skew), with the fixed filter ANDed in; a tile
// outside the view is refused `forbidden` with its index, one with no exact count under the
// filter `invalid_query`; a board edited a moment ago is read again rather than its new tiles
// refused (the TV would stop for good).
import { describe, expect, it } from 'vitest';
import { boardRequests, REALTIME_LAYOUT } from '../../shared/board-tiles.ts';
import { type BoardLayout, BoardLayout as BoardLayoutSchema } from '../../shared/boards.ts';
import { TileSpec } from '../../shared/live-tiles.ts';
import type { FilterTree } from '../../shared/query.ts';
import { createShareViews } from './share-view.ts';

const HOUR = 3_600_000;
const layout = (tiles: unknown[]): BoardLayout => BoardLayoutSchema.parse({ tiles });
const requests = (l: BoardLayout, at: number, zone = 'Europe/Paris') => boardRequests(l, zone, at).map((r) => ({ id: r.id, spec: TileSpec.parse(r.spec) }));
const share = (target: { kind: 'realtime' } | { kind: 'board'; id: string }, filter: FilterTree[] | null = null) => ({
  shareId: 's1',
  target,
  filter,
  filtered: (filter?.length ?? 0) > 0,
});

describe('share views', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const signups = { id: 'signups', type: 'number', filters: [['is', 'event:name', ['signup']]], since: { kind: 'time', time: '09:00' } };

  it('takes the view’s tiles within two hours of clock skew, and nothing else', async () => {
    const board = layout([signups]);
    const views = createShareViews({ boardLayout: async () => board, timezone: async () => 'Europe/Paris' }, { now: () => now });
    const s = share({ kind: 'board', id: 'b' });
    expect(await views.check(s, 'p', requests(board, now + 90 * 60_000))).toMatchObject({ ok: true });
    const other = requests(layout([{ ...signups, since: { kind: 'time', time: '08:00' } }]), now);
    expect(await views.check(s, 'p', [...requests(board, now), ...other])).toMatchObject({ ok: false, code: 'forbidden', index: 2 });
    // A screen whose clock is most of a day ahead asks for tomorrow's 09:00: not part of the view now.
    expect(await views.check(s, 'p', requests(board, now + 22 * HOUR))).toMatchObject({ ok: false, code: 'forbidden' });
  });

  it('ANDs the fixed filter in, and refuses what it leaves without an exact count', async () => {
    const views = createShareViews({ boardLayout: async () => null, timezone: async () => 'UTC' }, { now: () => now });
    const filter: FilterTree[] = [['is', 'event:path', ['/pricing']]];
    const all = requests(REALTIME_LAYOUT, now);
    const pages = all.find((r) => r.id === 'pages')!;
    const got = await views.check(share({ kind: 'realtime' }, filter), 'p', [pages]);
    expect(got).toMatchObject({ ok: true, tiles: [{ id: 'pages', spec: { ...pages.spec, filters: [['and', filter]] } }] });
    const referrers = all.find((r) => r.id === 'referrers')!;
    expect(await views.check(share({ kind: 'realtime' }, filter), 'p', [pages, referrers])).toMatchObject({ ok: false, code: 'invalid_query', index: 1 });
    expect(await views.check(share({ kind: 'board', id: 'gone' }), 'p', [pages])).toMatchObject({ ok: false, code: 'not_found' });
  });

  it('reads an edited board again before refusing its new tiles', async () => {
    let board = layout([signups]);
    let reads = 0;
    const views = createShareViews(
      {
        boardLayout: async () => {
          reads++;
          return board;
        },
        timezone: async () => 'UTC',
      },
      { now: () => now, cacheTtlMs: 60_000 },
    );
    const s = share({ kind: 'board', id: 'b' });
    expect(await views.check(s, 'p', requests(board, now, 'UTC'))).toMatchObject({ ok: true });
    board = layout([signups, { id: 'feed', type: 'feed' }]);
    expect(await views.check(s, 'p', requests(board, now, 'UTC'))).toMatchObject({ ok: true });
    expect(reads).toBe(2);
  });
});
