/** In-process Visitors (see visitors.ts): the same bookkeeping as the Redis store, in maps. */
import { DEFAULT_VISITORS_KEEP_MS, DEFAULT_VISITORS_TTL_MS, type VisitorChange, type Visitors, type VisitorsOptions } from './visitors.ts';

export function createMemoryVisitors(opts: VisitorsOptions = {}): Visitors {
  const ttl = opts.ttlMs ?? DEFAULT_VISITORS_TTL_MS;
  const keep = opts.keepMs ?? DEFAULT_VISITORS_KEEP_MS;
  const online = new Map<string, Map<string, number>>(); // project → device → sockets (all nodes)
  const nodes = new Map<string, { expires: number; devices: Map<string, number> }>(); // node → "project\n device" → sockets
  const seen = new Map<string, Map<string, number>>(); // project → device → last seen

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
      for (const d of devices) if (d && (m.get(d) ?? 0) < at) m.set(d, at);
    },
    async active(p, since) {
      const m = seen.get(p);
      if (!m) return 0;
      const cutoff = Date.now() - keep;
      let n = 0;
      for (const [d, at] of m) {
        if (at < cutoff) m.delete(d);
        else if (at >= since) n++;
      }
      return n;
    },
    async close() {
      online.clear();
      nodes.clear();
      seen.clear();
    },
  };
}
