/**
 * In-process Presence: per project, a map of node → {count, expiresAt}. Expired reports are
 * skipped when read and pruned when their project is next written.
 */
import { DEFAULT_PRESENCE_TTL_MS, type Presence, type PresenceOptions } from './presence.ts';

interface Report {
  count: number;
  expiresAt: number;
}

export function createMemoryPresence(opts: PresenceOptions = {}): Presence {
  const ttlMs = opts.ttlMs ?? DEFAULT_PRESENCE_TTL_MS;
  const projects = new Map<string, Map<string, Report>>();

  const sum = (reports: Map<string, Report>, now: number) => {
    let total = 0;
    for (const r of reports.values()) if (r.expiresAt > now) total += r.count;
    return total;
  };

  return {
    async set(nodeId, projectId, count) {
      const n = Math.max(0, Math.floor(count));
      const now = Date.now();
      const reports = projects.get(projectId) ?? new Map<string, Report>();
      projects.set(projectId, reports);
      for (const [node, r] of reports) if (r.expiresAt <= now) reports.delete(node);
      if (n > 0) reports.set(nodeId, { count: n, expiresAt: now + ttlMs });
      else reports.delete(nodeId);
      if (reports.size === 0) projects.delete(projectId);
    },
    async count(projectId) {
      const reports = projects.get(projectId);
      return reports ? sum(reports, Date.now()) : 0;
    },
    async counts() {
      const now = Date.now();
      const out: Record<string, number> = {};
      for (const [projectId, reports] of projects) {
        const n = sum(reports, now);
        if (n > 0) out[projectId] = n;
        else projects.delete(projectId); // every report expired
      }
      return out;
    },
    async close() {
      projects.clear();
    },
  };
}
