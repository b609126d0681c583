/**
 * Views: the tile sets share-link sockets watch (README "Share links", docs/realtime.md "Share
 * links"). A share socket is not in its project's room — that room's ticks carry whole-project
 * counts, the raw event sample and every watched tile — but in the room of its view: the exact
 * set of tile keys it watches (with its link's fixed filter in them). Every node sends each
 * view room a tick holding only those tiles' deltas, so it must know the views of the whole
 * cluster: local ones are counted by socket, other nodes' are announced with their tiles
 * (tile-registry.ts) and forgotten `remoteTtlMs` after the last announcement. No sockets here.
 */
import { createHash } from 'node:crypto';
import type { LiveTick } from '../../shared/live.ts';

export interface View {
  /** Hash of the sorted tile keys: the view's room. */
  key: string;
  /** Tile keys, sorted. */
  tiles: string[];
}

export interface ViewRegistry {
  /** A local socket now watches this set of tile keys of `projectId`; returns its view. */
  addLocal(projectId: string, tiles: readonly string[]): View;
  /** A local socket left the view `key`. */
  removeLocal(projectId: string, key: string): void;
  /** Another node's sockets watch these views (key → tile keys); entries whose key does not match their tiles are skipped. */
  addRemote(projectId: string, views: Record<string, unknown>): void;
  /** Forgets remote views not announced within the TTL. */
  expire(): void;
  /** This node's views of `projectId` (key → tile keys), to announce; undefined when none. */
  announce(projectId: string): Record<string, string[]> | undefined;
  /** Every view of `projectId` in the cluster. */
  of(projectId: string): View[];
  /** The tick a view gets from this node's `tick`: only its tiles, numbered per view; null when none of its tiles moved. */
  tickFor(tick: LiveTick, view: View): LiveTick | null;
}

/** The key of a set of tile keys (order does not matter). */
export function viewKey(tiles: readonly string[]): string {
  return createHash('sha1')
    .update([...tiles].sort().join('\n'))
    .digest('base64url')
    .slice(0, 16);
}

export function createViewRegistry(opts: { remoteTtlMs?: number; now?: () => number } = {}): ViewRegistry {
  const now = opts.now ?? Date.now;
  const ttl = opts.remoteTtlMs ?? 20_000;
  const local = new Map<string, Map<string, { view: View; refs: number }>>();
  const remote = new Map<string, Map<string, { view: View; seen: number }>>();
  /** This node's tick counter per project and view (a gap tells the screen it lost one). */
  const seqs = new Map<string, number>();

  const inner = <T>(m: Map<string, Map<string, T>>, p: string) => {
    let v = m.get(p);
    if (!v) {
      v = new Map();
      m.set(p, v);
    }
    return v;
  };

  return {
    addLocal(projectId, tiles) {
      const view = { key: viewKey(tiles), tiles: [...tiles].sort() };
      const m = inner(local, projectId);
      const had = m.get(view.key);
      if (had) had.refs++;
      else m.set(view.key, { view, refs: 1 });
      return view;
    },
    removeLocal(projectId, key) {
      const m = local.get(projectId);
      const e = m?.get(key);
      if (!m || !e || --e.refs > 0) return;
      m.delete(key);
      if (m.size === 0) local.delete(projectId);
    },
    addRemote(projectId, views) {
      for (const [key, tiles] of Object.entries(views)) {
        if (!Array.isArray(tiles) || !tiles.every((t) => typeof t === 'string') || viewKey(tiles) !== key) continue;
        inner(remote, projectId).set(key, { view: { key, tiles: [...tiles].sort() }, seen: now() });
      }
    },
    expire() {
      const cutoff = now() - ttl;
      for (const [projectId, m] of remote) {
        for (const [key, e] of m) if (e.seen < cutoff) m.delete(key);
        if (m.size === 0) remote.delete(projectId);
      }
      for (const k of seqs.keys()) {
        const [p, v] = k.split('\0') as [string, string];
        if (!local.get(p)?.has(v) && !remote.get(p)?.has(v)) seqs.delete(k);
      }
    },
    announce(projectId) {
      const m = local.get(projectId);
      return m && Object.fromEntries([...m].map(([k, e]) => [k, e.view.tiles]));
    },
    of(projectId) {
      const out = new Map<string, View>();
      for (const [k, e] of remote.get(projectId) ?? []) out.set(k, e.view);
      for (const [k, e] of local.get(projectId) ?? []) out.set(k, e.view);
      return [...out.values()];
    },
    tickFor(tick, view) {
      const tiles: NonNullable<LiveTick['tiles']> = {};
      let any = false;
      for (const k of view.tiles) {
        const d = tick.tiles?.[k];
        if (d) {
          tiles[k] = d;
          any = true;
        }
      }
      if (!any) return null;
      const sk = `${tick.projectId}\0${view.key}`;
      const seq = (seqs.get(sk) ?? 0) + 1;
      seqs.set(sk, seq);
      // Nothing of the project's own tick but what these tiles counted: no whole-project totals, sample or map points.
      return {
        projectId: tick.projectId,
        node: tick.node,
        at: tick.at,
        seq,
        // The receipt of the tick's oldest batch (the screen's latency readout): a time, not an event.
        ...(tick.oldest !== undefined ? { oldest: tick.oldest } : {}),
        events: {},
        sessionsStarted: 0,
        totals: {},
        pages: {},
        referrers: {},
        countries: {},
        sample: [],
        geo: [],
        tiles,
      };
    },
  };
}
