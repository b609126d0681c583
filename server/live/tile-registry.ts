/**
 * Which tiles this node aggregates: those its own dashboards watch (counted by reference) and
 * those other nodes' dashboards watch (announced through the cluster adapter, repeated as a
 * heartbeat, forgotten `remoteTtlMs` after the last announcement: a node that died stops
 * costing anything). The union is what the TileSet aggregates. A funnel no local screen watches
 * any more is kept for the same TTL (its visits' progress is costly to rebuild). No sockets here.
 */
import { TileSpec } from '../../shared/live-tiles.ts';
import { type ResolvedTile, resolveTile } from './tile-spec.ts';
import type { TileSet } from './tiles.ts';

export interface TileRegistry {
  /** A local dashboard watches `tile`; false when the project already holds its limit of tiles. */
  addLocal(projectId: string, tile: ResolvedTile): boolean;
  /** A local dashboard stopped watching the tile `key`. */
  removeLocal(projectId: string, key: string): void;
  /** Another node's dashboards watch these tiles (key → spec); unknown or invalid specs are skipped. */
  addRemote(projectId: string, specs: Record<string, unknown>): void;
  /** Drops remote tiles not announced within the TTL. */
  expire(): void;
  /** What this node's dashboards watch, per project: key → spec (what it announces). */
  announce(): Array<{ projectId: string; tiles: Record<string, TileSpec> }>;
  /** The spec of a watched tile (for a peer's backfill request). */
  get(projectId: string, key: string): ResolvedTile | undefined;
}

export function createTileRegistry(opts: { tiles: TileSet; remoteTtlMs?: number; now?: () => number }): TileRegistry {
  const now = opts.now ?? Date.now;
  const ttl = opts.remoteTtlMs ?? 20_000;
  const local = new Map<string, Map<string, { tile: ResolvedTile; refs: number }>>();
  const remote = new Map<string, Map<string, { tile: ResolvedTile; seen: number }>>();

  function release(projectId: string, key: string) {
    if (local.get(projectId)?.has(key) || remote.get(projectId)?.has(key)) return;
    opts.tiles.unwatch(projectId, key);
  }

  return {
    addLocal(projectId, tile) {
      let m = local.get(projectId);
      const had = m?.get(tile.key);
      if (had) {
        had.refs++;
        return true;
      }
      if (!opts.tiles.watch(projectId, tile)) return false;
      if (!m) {
        m = new Map();
        local.set(projectId, m);
      }
      m.set(tile.key, { tile, refs: 1 });
      return true;
    },
    removeLocal(projectId, key) {
      const m = local.get(projectId);
      const e = m?.get(key);
      if (!m || !e) return;
      if (--e.refs > 0) return;
      m.delete(key);
      if (m.size === 0) local.delete(projectId);
      if (e.tile.kind === 'funnel') {
        // A funnel's progress is kept a while, as a peer's tile would be: a screen reloading
        // finds it counting rather than starting over (which needs a fresh seed from the store).
        let r = remote.get(projectId);
        if (!r) {
          r = new Map();
          remote.set(projectId, r);
        }
        if (!r.has(key)) r.set(key, { tile: e.tile, seen: now() });
        return;
      }
      release(projectId, key);
    },
    addRemote(projectId, specs) {
      let m = remote.get(projectId);
      for (const [key, raw] of Object.entries(specs)) {
        const known = m?.get(key) ?? local.get(projectId)?.get(key);
        let tile = known?.tile;
        if (!tile) {
          const parsed = TileSpec.safeParse(raw);
          if (!parsed.success) continue;
          try {
            tile = resolveTile(parsed.data);
          } catch {
            continue;
          }
          if (tile.key !== key) continue; // a peer on another version: keys must agree to be shared
        }
        if (!opts.tiles.watch(projectId, tile)) continue;
        if (!m) {
          m = new Map();
          remote.set(projectId, m);
        }
        m.set(key, { tile, seen: now() });
      }
    },
    expire() {
      const cutoff = now() - ttl;
      for (const [projectId, m] of remote) {
        for (const [key, e] of m) {
          if (e.seen >= cutoff) continue;
          m.delete(key);
          if (m.size === 0) remote.delete(projectId);
          release(projectId, key);
        }
      }
    },
    announce() {
      return [...local].map(([projectId, m]) => ({ projectId, tiles: Object.fromEntries([...m].map(([k, e]) => [k, e.tile.spec])) }));
    },
    get: (projectId, key) => local.get(projectId)?.get(key)?.tile ?? remote.get(projectId)?.get(key)?.tile,
  };
}
