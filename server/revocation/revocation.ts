/**
 * Revocation reaching every node: when a credential stops being valid (a client disabled;
 * later user sessions and share tokens), every node forgets what it cached about it and closes
 * the connections that were authorised by it, within moments, wherever they are.
 *
 * Three parts, one small API:
 * - `revoke({kind, id})` publishes a `Revoked` message (shared/revocation.ts) on the Bus:
 *   in-process in the embedded shape, Redis pub/sub in the distributed one. Every node,
 *   the publisher included, acts on it.
 * - `onRevoked(kind, forget)` registers what a node forgets (a cache entry) for a kind.
 * - `hold(refs, close)` registers an open connection with the credentials it relies on;
 *   revoking any of them calls `close` (once). The returned function unregisters it (call it
 *   when the connection closes by itself).
 *
 * Pub/sub delivers at most once: a node that was cut off from Redis at that moment misses
 * the message. So a node also re-checks the credentials its connections hold every
 * `sweepMs` with the per-kind `check` functions (the client record, read fresh) and closes
 * what no longer passes — a backstop, not the usual path.
 */
import { REVOCATION_CHANNEL, type RevocableKind, type RevocationChannels, Revoked } from '../../shared/revocation.ts';
import type { Bus, Unsubscribe } from '../engines/bus.ts';
import type { Logger } from '../log.ts';

/** A credential a connection relies on. */
export interface RevocableRef {
  kind: RevocableKind;
  id: string;
}

export interface RevocationOptions {
  bus: Bus<RevocationChannels>;
  log: Logger;
  /**
   * Per kind: whether a credential is still valid, read from its source (not a cache). Used
   * by the sweep; kinds without one are only revoked by messages.
   */
  check?: Partial<Record<RevocableKind, (id: string) => Promise<boolean>>>;
  /** How often held credentials are re-checked (default 60 s; 0 = never). */
  sweepMs?: number;
  /** Counts revocations acted on here and connections closed (`livepanel_revocations_total`, `livepanel_revoked_connections_total`). */
  onRevoked?: (r: Revoked, closed: number) => void;
}

export interface Revocation {
  /** Tells every node (this one included) that the credential is revoked. */
  revoke(r: Revoked): Promise<void>;
  /** On every revocation of `kind` acted on here, calls `forget(id)` (drop cache entries). */
  onRevoked(kind: RevocableKind, forget: (id: string) => void): void;
  /** Registers a connection authorised by `refs`; `close` runs once, with the revocation, if any is revoked. Returns the unregister function. */
  hold(refs: RevocableRef[], close: (r: Revoked) => void): () => void;
  /** Connections currently held, for tests and metrics. */
  held(): number;
  /** Runs one sweep now (what the timer does every `sweepMs`). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

const refKey = (kind: string, id: string) => `${kind}\u0000${id}`;

/** Subscribes to revocations on `opts.bus`; resolves once messages published from now on are received. */
export async function createRevocation(opts: RevocationOptions): Promise<Revocation> {
  const log = opts.log.child({ module: 'revocation' });
  const forgetters = new Map<RevocableKind, Array<(id: string) => void>>();
  /** credential → the close functions of the connections relying on it. */
  const holders = new Map<string, Set<Holder>>();
  let count = 0;

  interface Holder {
    refs: string[];
    close: (r: Revoked) => void;
    done: boolean;
  }

  function release(h: Holder): void {
    if (h.done) return;
    h.done = true;
    count--;
    for (const k of h.refs) {
      const set = holders.get(k);
      set?.delete(h);
      if (set?.size === 0) holders.delete(k);
    }
  }

  /** Acts on a revocation here: forget, then close what relied on it. */
  function apply(r: Revoked): void {
    for (const forget of forgetters.get(r.kind) ?? []) {
      try {
        forget(r.id);
      } catch (err) {
        log.error({ err, kind: r.kind }, 'forgetting a revoked credential failed');
      }
    }
    const set = holders.get(refKey(r.kind, r.id));
    let closed = 0;
    for (const h of [...(set ?? [])]) {
      release(h);
      closed++;
      try {
        h.close(r);
      } catch (err) {
        log.error({ err, kind: r.kind }, 'closing a revoked connection failed');
      }
    }
    if (closed > 0) log.info({ kind: r.kind, closed }, 'closed connections of a revoked credential');
    opts.onRevoked?.(r, closed);
  }

  const unsubscribe: Unsubscribe = await opts.bus.subscribe(REVOCATION_CHANNEL, (message) => {
    const parsed = Revoked.safeParse(message);
    if (!parsed.success) {
      log.warn({ message }, 'ignored a malformed revocation message');
      return;
    }
    apply(parsed.data);
  });

  let sweeping: Promise<void> | undefined;
  async function sweep(): Promise<void> {
    const checks = opts.check ?? {};
    const due: Revoked[] = [];
    for (const key of holders.keys()) {
      const [kind, id] = key.split('\u0000') as [RevocableKind, string];
      if (checks[kind]) due.push({ kind, id });
    }
    for (const r of due) {
      try {
        if (!(await checks[r.kind]!(r.id))) apply(r);
      } catch (err) {
        log.warn({ err, kind: r.kind }, 'could not re-check a credential; keeping its connections for now');
      }
    }
  }
  const sweepMs = opts.sweepMs ?? 60_000;
  const timer =
    sweepMs > 0
      ? setInterval(() => {
          sweeping ??= sweep().finally(() => {
            sweeping = undefined;
          });
        }, sweepMs).unref()
      : undefined;

  return {
    async revoke(r) {
      await opts.bus.publish(REVOCATION_CHANNEL, Revoked.parse(r));
    },
    onRevoked(kind, forget) {
      forgetters.set(kind, [...(forgetters.get(kind) ?? []), forget]);
    },
    hold(refs, close) {
      const h: Holder = { refs: [...new Set(refs.map((r) => refKey(r.kind, r.id)))], close, done: false };
      count++;
      for (const k of h.refs) {
        const set = holders.get(k) ?? new Set<Holder>();
        holders.set(k, set);
        set.add(h);
      }
      return () => release(h);
    },
    held: () => count,
    sweep() {
      sweeping ??= sweep().finally(() => {
        sweeping = undefined;
      });
      return sweeping;
    },
    async close() {
      if (timer) clearInterval(timer);
      await sweeping;
      await unsubscribe();
    },
  };
}
