/**
 * In-process SessionStore for the embedded shape (one process). Sessions live in a Map keyed
 * by (project, device); an expiry heap finds due sessions without scanning. Every method runs
 * synchronously inside one turn of the event loop, which is what makes `touch` atomic and
 * `claimExpired` exactly-once here. Sessions are copied in and out, so callers cannot change
 * stored state by mutating what they got.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { ExpiryHeap } from './expiry-heap.ts';
import { applyHit, expiresAt, isExpiredAt, type OpenSession, type SessionHit, type SessionStore, type TouchResult } from './sessions.ts';

export interface MemorySessionStoreOptions {
  /** A session closes this long after its latest hit (unless kept alive longer). */
  timeoutMs: number;
  /**
   * Where open sessions are saved on `close()` and read back on creation, so a restart of the
   * embedded server neither loses open sessions nor splits them in two.
   */
  snapshotFile?: string;
}

export function createMemorySessionStore({ timeoutMs, snapshotFile }: MemorySessionStoreOptions): SessionStore {
  const sessions = new Map<string, OpenSession>();
  const expiry = new ExpiryHeap();
  // JSON of a two-element array is unambiguous whatever the ids contain.
  const keyOf = (projectId: string, deviceId: string) => JSON.stringify([projectId, deviceId]);

  const put = (key: string, s: OpenSession) => {
    sessions.set(key, s);
    expiry.set(key, expiresAt(s, timeoutMs));
  };
  const remove = (key: string) => {
    sessions.delete(key);
    expiry.delete(key);
  };

  if (snapshotFile && existsSync(snapshotFile)) {
    const saved = JSON.parse(readFileSync(snapshotFile, 'utf8')) as OpenSession[];
    for (const sess of saved) put(keyOf(sess.projectId, sess.deviceId), sess);
    rmSync(snapshotFile);
  }

  return {
    async touch(projectId: string, deviceId: string, hit: SessionHit, seed: () => OpenSession): Promise<TouchResult> {
      const key = keyOf(projectId, deviceId);
      const current = sessions.get(key);
      if (current && !isExpiredAt(current, hit.at, timeoutMs)) {
        applyHit(current, hit);
        expiry.set(key, expiresAt(current, timeoutMs));
        return { session: { ...current }, started: false };
      }
      const fresh = { ...seed() };
      if (current) remove(key);
      put(key, fresh);
      return current ? { session: { ...fresh }, started: true, closed: current } : { session: { ...fresh }, started: true };
    },

    async get(projectId, deviceId) {
      const s = sessions.get(keyOf(projectId, deviceId));
      return s ? { ...s } : null;
    },

    async keepAlive(projectId, deviceId, until) {
      const key = keyOf(projectId, deviceId);
      const s = sessions.get(key);
      if (!s || until <= s.keepAliveUntil) return;
      s.keepAliveUntil = until;
      expiry.set(key, expiresAt(s, timeoutMs));
    },

    async claimExpired(now, limit) {
      const out: OpenSession[] = [];
      while (out.length < limit) {
        const key = expiry.popAtMost(now);
        if (key === undefined) break;
        const s = sessions.get(key);
        sessions.delete(key);
        if (s) out.push(s);
      }
      return out;
    },

    async size() {
      return sessions.size;
    },

    async close() {
      if (!snapshotFile) return;
      // Written to a temporary name first: a crash mid-write must not leave a torn snapshot.
      writeFileSync(`${snapshotFile}.tmp`, JSON.stringify([...sessions.values()]));
      renameSync(`${snapshotFile}.tmp`, snapshotFile);
      sessions.clear();
    },
  };
}
