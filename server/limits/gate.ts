/**
 * The rate-limit gate on the request path: answers at once, from memory, whether a key may
 * spend some points — a token bucket per key (capacity = the rule's points, refilled evenly
 * over its duration). One node alone can therefore never let a key past its budget, and the
 * hot path costs a map lookup and some arithmetic, never a round trip.
 *
 * Across nodes (distributed shape) the buckets are kept honest by the shared RateLimits
 * engine (rate-limiter-flexible on Redis): a key's spending is reported in the background,
 * in one `consume` per key per sync period, and only once the key has spent a noticeable
 * share of its budget (`syncShare`) — the quiet majority of keys (a visitor sending a few
 * events) never costs Redis anything. When the shared count says the key is over its budget
 * on all nodes together, this node refuses the key until the shared window frees it. So the
 * cluster-wide overshoot is bounded by what each node lets through before its next sync.
 * If Redis fails, the local buckets keep limiting (fail open on the shared part only).
 */
import { LRUCache } from 'lru-cache';
import type { RateLimits } from '../engines/rate-limit.ts';

/** One limit: `points` per `seconds`. `name` identifies the limit (metrics, shared budgets). */
export interface GateRule {
  name: string;
  points: number;
  seconds: number;
}

export type Verdict = { allowed: true } | { allowed: false; retryAfterMs: number };

export const ALLOWED: Verdict = Object.freeze({ allowed: true });

export interface GateOptions {
  /** Shared budgets across nodes (distributed shape); absent, this node's buckets are the whole truth. */
  shared?: RateLimits;
  /** How often spending is reported to `shared` (default 100 ms). */
  syncMs?: number;
  /** A key is reported once it spent this share of its budget since its last report (default 0.05). */
  syncShare?: number;
  /** Most keys tracked; the least recently used are forgotten first (default 200,000). */
  maxKeys?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

interface Bucket {
  rule: GateRule;
  key: string;
  tokens: number;
  at: number;
  /** Refused until then, because the shared budget ran out. */
  blockedUntil: number;
  /** Spent here since the last report to the shared budget. */
  pending: number;
}

export interface Gate {
  /** Spends `points` of `key`'s budget under `rule`, or refuses with the time until enough is back. */
  take(rule: GateRule, key: string, points?: number): Verdict;
  /** Whether `take(rule, key, points)` would pass now, spending nothing. */
  peek(rule: GateRule, key: string, points?: number): Verdict;
  /** Stops the background sync (reports what is pending first). */
  close(): Promise<void>;
}

export function createGate(opts: GateOptions = {}): Gate {
  const now = opts.now ?? Date.now;
  const syncShare = opts.syncShare ?? 0.05;
  const buckets = new LRUCache<string, Bucket>({ max: opts.maxKeys ?? 200_000 });
  const dirty = new Set<Bucket>();
  let timer: NodeJS.Timeout | undefined;
  let syncing: Promise<void> | undefined;

  function take(rule: GateRule, key: string, points = 1): Verdict {
    const id = `${rule.name}\u0000${key}`;
    const t = now();
    let b = buckets.get(id);
    if (!b) {
      b = { rule, key, tokens: rule.points, at: t, blockedUntil: 0, pending: 0 };
      buckets.set(id, b);
    }
    if (b.rule !== rule) {
      // A project's override changed: what was spent stays spent, the rest of the new budget is there at once.
      refill(b, b.rule, t);
      if (b.rule.points !== rule.points) b.tokens = Math.min(rule.points, b.tokens + rule.points - b.rule.points);
      b.rule = rule;
    }
    if (b.blockedUntil > t) return { allowed: false, retryAfterMs: b.blockedUntil - t };
    const verdict = spend(b, rule, points, t);
    if (verdict.allowed && opts.shared) {
      b.pending += points;
      if (b.pending >= rule.points * syncShare) {
        dirty.add(b);
        timer ??= setTimeout(sync, opts.syncMs ?? 100);
      }
    }
    return verdict;
  }

  function peek(rule: GateRule, key: string, points = 1): Verdict {
    const b = buckets.peek(`${rule.name}\u0000${key}`);
    if (!b) return ALLOWED;
    const t = now();
    if (b.blockedUntil > t) return { allowed: false, retryAfterMs: b.blockedUntil - t };
    return spend({ tokens: b.tokens, at: b.at }, rule, points, t);
  }

  function sync(): void {
    timer = undefined;
    if (syncing) {
      // One report round at a time; the next starts when this one ends.
      timer = setTimeout(sync, opts.syncMs ?? 100);
      return;
    }
    const due = [...dirty];
    dirty.clear();
    syncing = Promise.all(due.map(report)).then(
      () => {
        syncing = undefined;
      },
      () => {
        syncing = undefined;
      },
    );
  }

  async function report(b: Bucket): Promise<void> {
    const points = b.pending;
    if (points <= 0 || !opts.shared) return;
    b.pending = 0;
    const { rule } = b;
    try {
      const limiter = opts.shared.limiter({ name: `${rule.name}.${rule.points}.${rule.seconds}`, points: rule.points, durationMs: rule.seconds * 1000 });
      const r = await limiter.consume(b.key, Math.ceil(points));
      if (!r.allowed) b.blockedUntil = Math.max(b.blockedUntil, now() + r.retryAfterMs);
    } catch (err) {
      opts.onError?.(err);
    }
  }

  return {
    take,
    peek,
    async close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await syncing;
      if (dirty.size > 0) {
        const due = [...dirty];
        dirty.clear();
        await Promise.all(due.map(report));
      }
    },
  };
}

/** Bucket state: tokens left at time `at`. */
interface BucketState {
  tokens: number;
  at: number;
}

/**
 * Refills `b` for the time since it was last used and takes `points` if there are enough. A
 * request larger than the whole budget may still pass when the bucket is full (it then owes
 * the difference): refusing it forever would only make its sender retry forever.
 */
function spend(b: BucketState, rule: { points: number; seconds: number }, points: number, t: number): Verdict {
  const perMs = refill(b, rule, t);
  const need = Math.min(points, rule.points);
  if (b.tokens < need) return { allowed: false, retryAfterMs: Math.max(1, Math.ceil((need - b.tokens) / perMs)) };
  b.tokens -= points;
  return ALLOWED;
}

/** Adds the tokens earned since `b.at` under `rule`; returns the rule's rate (tokens per ms). */
function refill(b: BucketState, rule: { points: number; seconds: number }, t: number): number {
  const perMs = rule.points / (rule.seconds * 1000);
  b.tokens = Math.min(rule.points, b.tokens + (t - b.at) * perMs);
  b.at = t;
  return perMs;
}

/** A token bucket for one holder (a socket): the gate's rule, without a map or a shared budget. */
export class TokenBucket {
  private readonly state: BucketState;
  constructor(
    private readonly rule: { points: number; seconds: number },
    private readonly now: () => number = Date.now,
  ) {
    this.state = { tokens: rule.points, at: now() };
  }

  take(points = 1): Verdict {
    return spend(this.state, this.rule, points, this.now());
  }
}
