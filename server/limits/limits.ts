/**
 * Every rate limit Livepanel applies, by what it protects, on top of the gate (gate.ts):
 *
 * | limit                  | key                   | counts                                  |
 * |------------------------|-----------------------|-----------------------------------------|
 * | `browser-events`       | project + visitor IP  | events from origin-authorised clients   |
 * | `server-events`        | client                | events from secret-authorised clients   |
 * | `socket-frames`        | one browser `/ws`     | frames (batches, heartbeats, garbage)   |
 * | `server-socket-frames` | one secret `/ws`      | frames                                  |
 * | `read`                 | client                | read API requests                       |
 * | `ws-connects`          | IP                    | `/ws` upgrade attempts                  |
 * | `live-connects`        | IP                    | socket.io (dashboard) handshakes        |
 * | `auth-failures`        | IP                    | failed authentications, every surface   |
 *
 * Defaults come from the configuration (`RATE_LIMIT_*`); the first five can be overridden per
 * project (stored on the project, cached here for `overridesTtlMs`). Events are counted per
 * request or frame, not per event round trip: a batch of 200 spends 200 points at once.
 * `RATE_LIMITS=off` turns every limit off (benchmarks).
 */
import { LRUCache } from 'lru-cache';
import { type ProjectRateLimitName, type ProjectRateLimits, parseRateSpec, type RateSpec } from '../../shared/rate-limits.ts';
import { AppError, rateLimitedError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { ALLOWED, type Gate, type GateRule, TokenBucket, type Verdict } from './gate.ts';

export const RATE_LIMIT_NAMES = [
  'browser-events',
  'server-events',
  'socket-frames',
  'server-socket-frames',
  'read',
  'ws-connects',
  'live-connects',
  'auth-failures',
] as const;
export type RateLimitName = (typeof RATE_LIMIT_NAMES)[number];

export interface RateLimitConfig {
  enabled: boolean;
  /** Each limit's default; null = unlimited. */
  defaults: Record<RateLimitName, RateSpec>;
}

/** Who is spending: enough of an authenticated caller to pick the limit and its key. */
export interface Spender {
  projectId: string;
  clientId: string;
  /** Secret-authorised (server SDK): counted per client, at the server rates. */
  viaSecret: boolean;
}

export interface LimitsDeps {
  config: RateLimitConfig;
  gate: Gate;
  /** A project's overrides (its stored JSON); `{}` when it has none or does not exist. */
  loadOverrides(projectId: string): Promise<ProjectRateLimits>;
  /** How long loaded overrides are used before being read again (default 30 s). */
  overridesTtlMs?: number;
  metrics?: Metrics;
  onError?: (err: unknown, projectId: string) => void;
}

type Rules = Record<RateLimitName, GateRule | null>;

export type Limits = ReturnType<typeof createLimits>;

export function createLimits(deps: LimitsDeps) {
  const enabled = deps.config.enabled;
  const defaults = toRules(deps.config.defaults, {});
  // A project's rules as they are being read (`read`) and, once read, the rules themselves.
  const perProject = new LRUCache<string, { read: Promise<Rules>; rules?: Rules }>({ max: 10_000, ttl: deps.overridesTtlMs ?? 30_000 });

  function rulesFor(projectId: string): Promise<Rules> {
    let entry = perProject.get(projectId);
    if (!entry) {
      const fresh: { read: Promise<Rules>; rules?: Rules } = {
        read: deps.loadOverrides(projectId).then(
          (o) => {
            fresh.rules = Object.keys(o).length === 0 ? defaults : toRules(deps.config.defaults, o);
            return fresh.rules;
          },
          (err) => {
            // Reading the overrides failed: defaults now, try again on the next request.
            deps.onError?.(err, projectId);
            perProject.delete(projectId);
            return defaults;
          },
        ),
      };
      entry = fresh;
      perProject.set(projectId, entry);
    }
    return entry.read;
  }

  function refused(name: RateLimitName, v: Verdict): Verdict {
    if (!v.allowed) deps.metrics?.rateLimited.inc({ limit: name });
    return v;
  }

  function spend(rules: Rules, caller: Spender, ip: string, count: number): Verdict {
    return caller.viaSecret ? take(rules, 'server-events', caller.clientId, count) : take(rules, 'browser-events', `${caller.projectId}|${ip}`, count);
  }

  function take(rules: Rules, name: RateLimitName, key: string, points: number): Verdict {
    const rule = rules[name];
    return rule ? refused(name, deps.gate.take(rule, key, points)) : ALLOWED;
  }

  return {
    enabled,

    /** Spends `count` events of the caller's budget: per visitor IP for browsers, per client for server SDKs. */
    async events(caller: Spender, ip: string, count: number): Promise<Verdict> {
      if (!enabled || count <= 0) return ALLOWED;
      return spend(await rulesFor(caller.projectId), caller, ip, count);
    },

    /**
     * `events` without waiting, when it need not: limits off, or the project's rules already
     * read. Undefined while they are being read (then await `events`). Spares a `/track`
     * request a promise and a turn of the microtask queue.
     */
    eventsNow(caller: Spender, ip: string, count: number): Verdict | undefined {
      if (!enabled || count <= 0) return ALLOWED;
      const rules = perProject.get(caller.projectId)?.rules;
      return rules && spend(rules, caller, ip, count);
    },

    /** A frame budget for one new `/ws` socket, or null when unlimited. */
    async socketBucket(caller: Spender): Promise<{ take(): Verdict } | null> {
      if (!enabled) return null;
      const name = caller.viaSecret ? 'server-socket-frames' : 'socket-frames';
      const rule = (await rulesFor(caller.projectId))[name];
      if (!rule) return null;
      const bucket = new TokenBucket(rule);
      return { take: () => refused(name, bucket.take(1)) };
    },

    /** A message budget for one dashboard (socket.io) connection — a browser socket's — or null when unlimited. */
    dashboardBucket(): { take(): Verdict } | null {
      const rule = defaults['socket-frames'];
      if (!enabled || !rule) return null;
      const bucket = new TokenBucket(rule);
      return { take: () => refused('socket-frames', bucket.take(1)) };
    },

    /** One read API request by `principal` (its stable id: `client:<id>`, later users and share tokens). */
    async read(principal: { projectId: string; id: string }): Promise<Verdict> {
      if (!enabled) return ALLOWED;
      return take(await rulesFor(principal.projectId), 'read', principal.id, 1);
    },

    /** One connection attempt from `ip` (before authentication). */
    connect(kind: 'ws-connects' | 'live-connects', ip: string): Verdict {
      return enabled ? take(defaults, kind, ip, 1) : ALLOWED;
    },

    /** Whether `ip` is refused for too many failed authentications (spends nothing). */
    authBlocked(ip: string): Verdict {
      const rule = defaults['auth-failures'];
      return enabled && rule ? refused('auth-failures', deps.gate.peek(rule, ip, 1)) : ALLOWED;
    },

    /** Counts a failed authentication from `ip`; refused once `ip` is past its budget. */
    authFailed(ip: string): Verdict {
      return enabled ? take(defaults, 'auth-failures', ip, 1) : ALLOWED;
    },

    /**
     * Runs an authentication for a request from `ip`: refused at once (429) while `ip` is past
     * its failed-authentication budget; a 401/403 it throws counts against that budget, and
     * once over it the answer becomes 429 (so guessing ids or secrets stops paying off).
     */
    async authenticate<T>(ip: string, run: () => Promise<T>): Promise<T> {
      assertAllowed(this.authBlocked(ip), 'failed authentications from this address');
      try {
        return await run();
      } catch (err) {
        if (err instanceof AppError && (err.status === 401 || err.status === 403))
          assertAllowed(this.authFailed(ip), 'failed authentications from this address');
        throw err;
      }
    },

    /** Reads the project's overrides again on its next request (after `set-rate-limits`). */
    forget(projectId: string): void {
      perProject.delete(projectId);
    },
  };
}

/** Throws the 429 AppError for a refusal (for handlers that answer errors by throwing). */
export function assertAllowed(v: Verdict, what: string): void {
  if (!v.allowed) throw rateLimitedError(v.retryAfterMs, `Too many ${what}; retry in ${Math.ceil(v.retryAfterMs / 1000)} s`);
}

function toRules(defaults: Record<RateLimitName, RateSpec>, overrides: ProjectRateLimits): Rules {
  const out = {} as Rules;
  for (const name of RATE_LIMIT_NAMES) {
    const text = overrides[name as ProjectRateLimitName];
    const spec = text === undefined ? defaults[name] : parseRateSpec(text);
    out[name] = spec ? { name, points: spec.points, seconds: spec.seconds } : null;
  }
  return out;
}
