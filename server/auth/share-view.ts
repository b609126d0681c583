/**
 * What a share link's live socket may watch (README "Share links", docs/realtime.md "Share
 * links"): a realtime link the realtime page's tiles, a board link its board's tiles — as the
 * dashboard asks for them around now ("since 09:00" resolved in the project's time zone) — each
 * with the link's fixed filter ANDed in (shared/share-view.ts). A tile outside the view is
 * refused `forbidden`; one the filter leaves without an exact live count, `invalid_query`.
 */
import { LRUCache } from 'lru-cache';
import { boardRequests, REALTIME_LAYOUT } from '../../shared/board-tiles.ts';
import type { BoardLayout } from '../../shared/boards.ts';
import { type TileRequest, TileSpec } from '../../shared/live-tiles.ts';
import { withShareFilter } from '../../shared/share-view.ts';
import type { LiveAdmission, ShareTiles } from '../live/live.socket.ts';
import { tileKey } from '../live/tile-spec.ts';

/** Where a share's view comes from: the board it names, and the project's time zone. */
export interface ShareViewSource {
  /** The layout of a saved board, or null when it was deleted. */
  boardLayout(projectId: string, boardId: string): Promise<BoardLayout | null>;
  /** The project's IANA time zone. */
  timezone(projectId: string): Promise<string>;
}

const HOUR = 3_600_000;
/** A screen's clock may be off by this much either way (its "since 09:00" is computed in the browser). */
const CLOCK_SLACK_MS = 2 * HOUR;

export function createShareViews(src: ShareViewSource, opts: { now?: () => number; cacheTtlMs?: number } = {}) {
  const now = opts.now ?? Date.now;
  // Screens subscribe on connect, on reconnect and when "since" rolls over: a few reads of the board a minute at most.
  const cache = new LRUCache<string, { layout: BoardLayout | null; zone: string }>({ max: 5000, ttl: opts.cacheTtlMs ?? 5000 });

  async function view(projectId: string, target: NonNullable<LiveAdmission['share']>['target'], fresh = false) {
    const k = `${projectId}\0${target.kind === 'board' ? target.id : target.kind}`;
    let v = fresh ? undefined : cache.get(k);
    if (!v) {
      const [layout, zone] = await Promise.all([
        target.kind === 'board' ? src.boardLayout(projectId, target.id) : target.kind === 'realtime' ? REALTIME_LAYOUT : null,
        src.timezone(projectId),
      ]);
      v = { layout, zone };
      cache.set(k, v);
    }
    return v;
  }

  /** Keys of the tiles the view asks for around now; null when its board is gone. */
  async function allowedKeys(projectId: string, target: NonNullable<LiveAdmission['share']>['target'], fresh = false): Promise<Set<string> | null> {
    const v = await view(projectId, target, fresh);
    if (!v.layout) return null;
    const allowed = new Set<string>();
    const t = now();
    for (const at of [t - CLOCK_SLACK_MS, t - HOUR, t, t + HOUR, t + CLOCK_SLACK_MS]) {
      for (const r of boardRequests(v.layout, v.zone, at)) allowed.add(tileKey(TileSpec.parse(r.spec)));
    }
    return allowed;
  }

  return {
    /** The tiles a share socket asks for (already parsed), as it must watch them — or why not. */
    async check(share: NonNullable<LiveAdmission['share']>, projectId: string, tiles: TileRequest[]): Promise<ShareTiles> {
      let allowed = await allowedKeys(projectId, share.target);
      if (!allowed) return { ok: false, code: 'not_found', message: 'The board this link shares was deleted' };
      // A screen that just read an edited board asks for its new tiles: read the board again before refusing them.
      if (tiles.some((r) => !allowed!.has(tileKey(r.spec)))) allowed = (await allowedKeys(projectId, share.target, true)) ?? new Set();
      const out: TileRequest[] = [];
      for (const [index, r] of tiles.entries()) {
        if (!allowed.has(tileKey(r.spec))) {
          return { ok: false, code: 'forbidden', message: `A ${share.target.kind} link watches the tiles of the view it shares only`, index };
        }
        const filtered = withShareFilter(r.spec, share.filter ?? []);
        if (!filtered.ok) return { ok: false, code: 'invalid_query', message: filtered.message, index };
        out.push({ id: r.id, spec: filtered.spec });
      }
      return { ok: true, tiles: out };
    },
  };
}

export type ShareViews = ReturnType<typeof createShareViews>;
