/**
 * Caps on open SDK sockets (`/ws`) per node: per IP, per client and in total. Every socket is
 * a file descriptor; without caps one client opening tens of thousands of sockets exhausts
 * the process's descriptors, and then nothing — health checks, dashboards, other tenants —
 * can connect. The total cap leaves a reserve of descriptors below the process's limit
 * (`RLIMIT_NOFILE`) for everything else: HTTP requests, health checks, dashboards, Redis,
 * databases, files.
 *
 * A socket is counted from the moment its upgrade is admitted (before authentication ends)
 * until it closes, so a burst of upgrades cannot overshoot while auth is in flight.
 */
import { readFileSync } from 'node:fs';

export interface SocketCapsConfig {
  /** Open `/ws` sockets per IP on this node (0: no cap). */
  perIp: number;
  /** Open `/ws` sockets per client on this node (0: no cap). */
  perClient: number;
  /** Open `/ws` sockets on this node (0: no cap). */
  total: number;
}

export type Admission = { ok: true } | { ok: false; status: 429 | 503; what: 'ip' | 'client' | 'node'; cap: number };

export interface SocketCaps {
  readonly config: SocketCapsConfig;
  /** Admits a new socket from `ip` (counts it) or says which cap refuses it. */
  admitIp(ip: string): Admission;
  /** Admits an admitted socket for `clientId` once authenticated (counts it), or refuses. */
  admitClient(clientId: string): Admission;
  /** Forgets a socket: call once for each successful admit (`clientId` when admitClient passed). */
  release(ip: string, clientId?: string): void;
  /** Open (or admitted) sockets on this node. */
  count(): number;
}

export function createSocketCaps(config: SocketCapsConfig): SocketCaps {
  const byIp = new Map<string, number>();
  const byClient = new Map<string, number>();
  let total = 0;
  const dec = (m: Map<string, number>, k: string) => {
    const n = (m.get(k) ?? 0) - 1;
    if (n > 0) m.set(k, n);
    else m.delete(k);
  };
  return {
    config,
    admitIp(ip) {
      if (config.total > 0 && total >= config.total) return { ok: false, status: 503, what: 'node', cap: config.total };
      const n = byIp.get(ip) ?? 0;
      if (config.perIp > 0 && n >= config.perIp) return { ok: false, status: 429, what: 'ip', cap: config.perIp };
      byIp.set(ip, n + 1);
      total++;
      return { ok: true };
    },
    admitClient(clientId) {
      const n = byClient.get(clientId) ?? 0;
      if (config.perClient > 0 && n >= config.perClient) return { ok: false, status: 429, what: 'client', cap: config.perClient };
      byClient.set(clientId, n + 1);
      return { ok: true };
    },
    release(ip, clientId) {
      dec(byIp, ip);
      total = Math.max(0, total - 1);
      if (clientId !== undefined) dec(byClient, clientId);
    },
    count: () => total,
  };
}

/** The process's soft limit on open files (Linux: /proc/self/limits), or null when unknown. */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | null {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1]?.trim();
    if (!soft) return null;
    return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return null;
  }
}

/**
 * The `auto` total cap: the open-file limit, less the descriptors the process already holds
 * (`inUse`: stores, logs, connections to Redis and databases — count them once everything is
 * open) and a reserve of 10% of the limit (at least 256, at most 4,096) for everything that is
 * not an SDK socket: HTTP requests, health checks, dashboards. 10,000 when the limit is unknown.
 */
export function autoTotalCap(fileLimit: number | null, inUse = 0): number {
  if (fileLimit === null) return 10_000;
  if (!Number.isFinite(fileLimit)) return 0;
  const reserve = Math.min(4096, Math.max(256, Math.floor(fileLimit * 0.1)));
  return Math.max(1, fileLimit - inUse - reserve);
}
