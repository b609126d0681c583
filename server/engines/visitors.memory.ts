/**
 * In-process Visitors (see visitors.ts): the same bookkeeping as the Redis store, in maps.
 * "Seen" entries older than the keep window are dropped as the store writes (as the Redis store
 * trims its sorted set on every write): a project's table is swept when it has doubled since its
 * last sweep or a keep window has passed since then. So a project nobody watches (no `active`
 * reads) keeps no device much past two windows, and its table never grows past twice what it
 * held after its last sweep — amortised O(1) per write.
 */
import { DEFAULT_VISITORS_KEEP_MS, DEFAULT_VISITORS_TTL_MS, type VisitorChange, type Visitors, type VisitorsOptions } from './visitors.ts';

/** Smallest "seen" table of a project that is swept on write. */
const SWEEP_MIN = 1024;

/**
 * "Seen" times are held as milliseconds from this, the module's load: small integers, which V8
 * keeps in the table's slot itself, where an epoch time is a heap number of its own (16 B per
 * device: ≈ 1.6 MB with 100,000 devices seen). Past ≈ 24 days of uptime they are heap numbers
 * again, as exact; the comparisons are made between relative times.
 */
const TIME_BASE = Date.now();

export interface MemoryVisitors extends Visitors {
  /** Devices a project's "seen" table holds now (swept or not): what its memory is bounded by. */
  seenHeld(projectId: string): number;
}

export function createMemoryVisitors(opts: VisitorsOptions = {}): MemoryVisitors {
  const ttl = opts.ttlMs ?? DEFAULT_VISITORS_TTL_MS;
  const keep = opts.keepMs ?? DEFAULT_VISITORS_KEEP_MS;
  const online = new Map<string, Map<string, number>>(); // project → device → sockets (all nodes)
  const nodes = new Map<string, { expires: number; devices: Map<string, number> }>(); // node → "project\n device" → sockets
  const seen = new Map<string, Map<string, number>>(); // project → device → last seen (from TIME_BASE)
  /** Per project, when its "seen" table was last swept and the size at which the next sweep runs. */
  const sweeps = new Map<string, { at: number; size: number }>();
  /** Drops `m`'s entries older than the keep window; returns how many are left. */
  const dropOld = (m: Map<string, number>) => {
    const cutoff = Date.now() - keep - TIME_BASE;
    for (const [d, at] of m) if (at < cutoff) m.delete(d);
    return m.size;
  };

  const add = (p: string, d: string, delta: number) => {
    let m = online.get(p);
    if (!m) {
      m = new Map();
      online.set(p, m);
    }
    const n = (m.get(d) ?? 0) + delta;
    if (n > 0) m.set(d, n);
    else m.delete(d);
    if (m.size === 0) online.delete(p);
  };
  const live = (id: string) => (nodes.get(id)?.expires ?? 0) > Date.now();
  const node = (id: string) => {
    let n = nodes.get(id);
    if (!n) {
      n = { expires: 0, devices: new Map() };
      nodes.set(id, n);
    }
    n.expires = Date.now() + ttl;
    return n;
  };
  const apply = (id: string, changes: VisitorChange[]) => {
    const n = node(id);
    for (const [p, d, delta] of changes) {
      if (!p || !d || !Number.isFinite(delta) || delta === 0) continue;
      const k = `${p}\n${d}`;
      const before = n.devices.get(k) ?? 0;
      const after = Math.max(0, before + delta);
      if (after > 0) n.devices.set(k, after);
      else n.devices.delete(k);
      add(p, d, after - before);
    }
  };
  const drop = (id: string) => {
    const n = nodes.get(id);
    if (!n) return [];
    const projects = new Set<string>();
    for (const [k, c] of n.devices) {
      const [p, d] = k.split('\n') as [string, string];
      add(p, d, -c);
      projects.add(p);
    }
    nodes.delete(id);
    return [...projects];
  };

  return {
    inProcess: true,
    async change(id, changes) {
      if (!live(id)) return false;
      apply(id, changes);
      return true;
    },
    async beat(id) {
      const known = live(id);
      if (!known) drop(id);
      node(id);
      return known;
    },
    async reset(id, state) {
      drop(id);
      apply(id, state);
    },
    async sweep() {
      const now = Date.now();
      const changed = new Set<string>();
      for (const [id, n] of nodes) if (n.expires <= now) for (const p of drop(id)) changed.add(p);
      return [...changed];
    },
    async online(p) {
      return online.get(p)?.size ?? 0;
    },
    async seen(p, devices, at) {
      let m = seen.get(p);
      if (!m) {
        m = new Map();
        seen.set(p, m);
      }
      const rel = at - TIME_BASE;
      for (const d of devices) if (d && (m.get(d) ?? Number.NEGATIVE_INFINITY) < rel) m.set(d, rel);
      const last = sweeps.get(p);
      const now = Date.now();
      if (last ? m.size >= last.size || now - last.at >= keep : m.size >= SWEEP_MIN) sweeps.set(p, { at: now, size: Math.max(SWEEP_MIN, 2 * dropOld(m)) });
    },
    async active(p, since) {
      const m = seen.get(p);
      if (!m) return 0;
      let n = 0;
      dropOld(m);
      const from = since - TIME_BASE;
      for (const at of m.values()) if (at >= from) n++;
      return n;
    },
    seenHeld(p) {
      return seen.get(p)?.size ?? 0;
    },
    async close() {
      online.clear();
      nodes.clear();
      seen.clear();
      sweeps.clear();
    },
  };
}
