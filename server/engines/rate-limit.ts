/**
 * Rate limits: a fixed budget of points per key per window (per client id, per IP, per
 * login), the same across every node in the distributed shape. The counting is
 * rate-limiter-flexible's (RateLimiterMemory / RateLimiterRedis); this module only gives it a
 * small interface and a result that is a value, not a thrown object.
 * Implementations: `rate-limit.memory.ts`, `rate-limit.redis.ts`; both pass `rate-limit.contract.ts`.
 */
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitResult {
  /** True when the points were taken; false when the key is over its budget. */
  allowed: boolean;
  /** Points left in the current window. */
  remaining: number;
  /** When denied: ms until enough of the budget is back to try again; 0 when allowed. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Takes `points` (a positive integer, default 1) from `key`'s budget for the current window. */
  consume(key: string, points?: number): Promise<RateLimitResult>;
  /** Gives `key` its full budget back (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

export interface RateLimitRule {
  /** Names the limiter; limiters with different names never share budgets. */
  name: string;
  /** Budget per window. */
  points: number;
  /** Window length: whole seconds (rate-limiter-flexible's Redis store counts in seconds). */
  durationMs: number;
  /** Once over budget, deny for this long instead of until the window ends (whole seconds; default 0). */
  blockDurationMs?: number;
}

/** The limiters of one process; each caller declares its own rule. */
export interface RateLimits {
  /**
   * The limiter for `rule`. One name is one set of budgets: asking twice for a name gives the
   * same budgets (shared by every node for Redis); asking with a different rule is an error.
   */
  limiter(rule: RateLimitRule): RateLimiter;
  /** Releases what the limiters hold (not a client they were given). */
  close(): Promise<void>;
}

/** Validates a rule and turns it into rate-limiter-flexible's options (seconds). */
export function flexibleOptions(rule: RateLimitRule) {
  const seconds = (ms: number, what: string) => {
    if (!Number.isInteger(ms / 1000) || ms < 0) throw new RangeError(`rate limit ${rule.name}: ${what} must be whole seconds, got ${ms} ms`);
    return ms / 1000;
  };
  if (!/^[\w.-]+$/.test(rule.name)) throw new RangeError(`rate limit name ${JSON.stringify(rule.name)}: letters, digits, _ . - only`);
  if (!Number.isInteger(rule.points) || rule.points < 1) throw new RangeError(`rate limit ${rule.name}: points must be a positive integer`);
  const duration = seconds(rule.durationMs, 'durationMs');
  if (duration < 1) throw new RangeError(`rate limit ${rule.name}: durationMs must be at least 1000`);
  return { points: rule.points, duration, blockDuration: seconds(rule.blockDurationMs ?? 0, 'blockDurationMs') };
}

/** RateLimits over a rate-limiter-flexible constructor, one limiter per name. */
export function rateLimits(build: (rule: RateLimitRule) => RateLimiterAbstract): RateLimits {
  const byName = new Map<string, { rule: string; limiter: RateLimiter }>();
  return {
    limiter(rule) {
      const key = JSON.stringify([rule.points, rule.durationMs, rule.blockDurationMs ?? 0]);
      const known = byName.get(rule.name);
      if (known && known.rule !== key) throw new RangeError(`rate limit ${rule.name} was declared with another rule`);
      if (known) return known.limiter;
      const limiter = wrapLimiter(build(rule));
      byName.set(rule.name, { rule: key, limiter });
      return limiter;
    },
    async close() {
      byName.clear();
    },
  };
}

/** Wraps a rate-limiter-flexible limiter: a denial becomes a value, store errors still throw. */
function wrapLimiter(limiter: RateLimiterAbstract): RateLimiter {
  return {
    async consume(key, points = 1) {
      if (!Number.isInteger(points) || points < 1) throw new RangeError(`rate limit: points must be a positive integer, got ${points}`);
      try {
        const res = await limiter.consume(key, points);
        return { allowed: true, remaining: res.remainingPoints, retryAfterMs: 0 };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        return { allowed: false, remaining: err.remainingPoints, retryAfterMs: Math.max(1, err.msBeforeNext) };
      }
    },
    async reset(key) {
      await limiter.delete(key);
    },
  };
}
