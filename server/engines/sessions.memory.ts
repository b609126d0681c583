/**
 * In-process SessionStore for the embedded shape (one process). Sessions live in a Map keyed
 * by (project, device); an expiry heap finds due sessions without scanning. A session's expiry
 * only ever moves later (`expiresAt`: its last hit and keep-alive never move back), so a hit
 * leaves the session's heap entry as it was, a lower bound of its expiry: an entry that comes
 * due is checked against the session and, when stale, pushed back at the session's real
 * expiry. A hit then costs no heap work (moving an entry down the heap on every hit was two
 * Map writes per level), and the heap still yields sessions in their real expiry order: an
 * entry is only taken when its score is the session's real expiry. Every method runs
 * synchronously inside one turn of the event loop, which is what makes `touch` atomic and
 * `claimExpired` exactly-once here. Sessions are copied in and out, so callers cannot change
 * stored state by mutating what they got.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ExpiryHeap } from './expiry-heap.ts';
import {
  applyHit,
  expiresAt,
  isExpiredAt,
  type OpenSession,
  type SessionHit,
  type SessionStore,
  summarizeTouch,
  type TouchResult,
  type TouchSummary,
} from './sessions.ts';
import { TouchOrder } from './touch-order.ts';

export interface MemorySessionStoreOptions {
  /** A session closes this long after its latest hit (unless kept alive longer). */
  timeoutMs: number;
  /**
   * Where open sessions are saved on `close()` and read back on creation, so a restart of the
   * embedded server neither loses open sessions nor splits them in two.
   */
  snapshotFile?: string;
  /**
   * Most open sessions held (default 200,000). Device ids are client-chosen, so without a bound
   * one client could fill the heap. Past it the least recently active session is evicted —
   * closed and handed back by `touch` (`evicted`) to be written, never dropped.
   */
  maxSessions?: number;
  /** Most open sessions of one project (default 100,000): past it that project's least recently active one is evicted. */
  maxPerProject?: number;
}

/** Largest snapshot read back at start (a damaged or foreign huge file is not read whole). */
const MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;

export function createMemorySessionStore({ timeoutMs, snapshotFile, maxSessions = 200_000, maxPerProject = 100_000 }: MemorySessionStoreOptions): SessionStore {
  const sessions = new Map<string, OpenSession>();
  const expiry = new ExpiryHeap();
  /** Per project, its sessions' keys by when they were last touched. */
  const byProject = new Map<string, TouchOrder<string>>();
  // The project id's length first makes the key unambiguous whatever the ids contain (and
  // costs less than the JSON of the pair, once per hit).
  const keyOf = (projectId: string, deviceId: string) => `${projectId.length}:${projectId}${deviceId}`;

  const touchOrder = (s: OpenSession, key: string) => {
    let keys = byProject.get(s.projectId);
    if (!keys) {
      keys = new TouchOrder();
      byProject.set(s.projectId, keys);
    }
    keys.touch(key);
  };
  const put = (key: string, s: OpenSession) => {
    sessions.set(key, s);
    expiry.set(key, expiresAt(s, timeoutMs));
    touchOrder(s, key);
  };
  /**
   * Takes the key of the session that expires first, if that is at or before `max`: stale
   * entries met on the way (their session was hit since) go back in at the session's expiry.
   */
  const popDue = (max: number): string | undefined => {
    for (;;) {
      const score = expiry.minScore();
      if (score === undefined || score > max) return undefined;
      const key = expiry.popAtMost(max)!;
      const s = sessions.get(key);
      const due = s ? expiresAt(s, timeoutMs) : score;
      if (due <= score) return key;
      expiry.set(key, due);
    }
  };
  const remove = (key: string) => {
    const s = sessions.get(key);
    sessions.delete(key);
    expiry.delete(key);
    if (!s) return;
    const keys = byProject.get(s.projectId);
    keys?.delete(key);
    if (keys?.size === 0) byProject.delete(s.projectId);
  };
  /** Makes room for one more session of `projectId`; returns the sessions evicted. */
  const makeRoom = (projectId: string): OpenSession[] => {
    const out: OpenSession[] = [];
    const own = byProject.get(projectId);
    if (own && own.size >= maxPerProject) {
      const key = own.oldest()!;
      out.push(sessions.get(key)!);
      remove(key);
    }
    while (sessions.size >= maxSessions) {
      const key = popDue(Number.POSITIVE_INFINITY)!;
      out.push(sessions.get(key)!);
      remove(key);
    }
    return out;
  };

  /** Sessions evicted while loading a snapshot larger than the bounds: handed to the next `touch`. */
  let evictedAtLoad: OpenSession[] = [];
  if (snapshotFile && existsSync(snapshotFile)) {
    for (const sess of readSnapshot(snapshotFile)) {
      const key = keyOf(sess.projectId, sess.deviceId);
      if (sessions.has(key)) remove(key);
      evictedAtLoad.push(...makeRoom(sess.projectId));
      put(key, sess);
    }
    rmSync(snapshotFile);
  }

  /** `touch`, returning the stored session itself (the public methods copy or summarize it). */
  function touch(projectId: string, key: string, hit: SessionHit, seed: () => OpenSession, alreadyRecent = false): TouchResult {
    const current = sessions.get(key);
    if (current && !isExpiredAt(current, hit.at, timeoutMs)) {
      applyHit(current, hit); // its expiry moves later: the heap entry stays a lower bound
      if (!alreadyRecent) touchOrder(current, key);
      return { session: current, started: false };
    }
    const fresh = { ...seed() };
    if (current) remove(key);
    const evicted = makeRoom(projectId);
    if (evictedAtLoad.length > 0) {
      evicted.push(...evictedAtLoad);
      evictedAtLoad = [];
    }
    put(key, fresh);
    const out: TouchResult = current ? { session: fresh, started: true, closed: current } : { session: fresh, started: true };
    if (evicted.length > 0) out.evicted = evicted;
    return out;
  }

  return {
    async touch(projectId, deviceId, hit, seed) {
      const r = touch(projectId, keyOf(projectId, deviceId), hit, seed);
      return { ...r, session: { ...r.session } };
    },

    async touchMany(projectId, items) {
      // A batch is mostly one device: its key is made once, and a hit right after another of
      // the same device need not move it in the recency order (it is the most recent already).
      const out: TouchSummary[] = new Array(items.length);
      let lastDevice: string | undefined;
      let key = '';
      for (let i = 0; i < items.length; i++) {
        const { deviceId, hit, seed } = items[i]!;
        const same = deviceId === lastDevice;
        if (!same) key = keyOf(projectId, deviceId);
        lastDevice = deviceId;
        out[i] = summarizeTouch(touch(projectId, key, hit, seed, same));
      }
      return out;
    },

    async get(projectId, deviceId) {
      const s = sessions.get(keyOf(projectId, deviceId));
      return s ? { ...s } : null;
    },

    async keepAlive(projectId, deviceId, until) {
      const key = keyOf(projectId, deviceId);
      const s = sessions.get(key);
      if (!s || until <= s.keepAliveUntil) return;
      s.keepAliveUntil = until; // a later expiry: the heap entry stays a lower bound
    },

    async claimExpired(now, limit) {
      const out: OpenSession[] = [];
      while (out.length < limit) {
        const key = popDue(now);
        if (key === undefined) break;
        const s = sessions.get(key);
        remove(key);
        if (s) out.push(s);
      }
      return out;
    },

    async size() {
      return sessions.size;
    },

    async close() {
      if (!snapshotFile) return;
      writeSnapshot(snapshotFile, sessions.values());
      sessions.clear();
      byProject.clear();
    },
  };
}

/**
 * Writes one session per line (JSON Lines) to a temporary file, fdatasyncs it, renames it over
 * the snapshot and fsyncs the folder: a crash at any point leaves the old snapshot or the new
 * one, never a torn or empty file that looks complete.
 */
function writeSnapshot(file: string, sessions: Iterable<OpenSession>): void {
  const temp = `${file}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    let lines: string[] = [];
    const flush = () => {
      if (lines.length) writeSync(fd, `${lines.join('\n')}\n`);
      lines = [];
    };
    for (const s of sessions) {
      lines.push(JSON.stringify(s));
      if (lines.length >= 1000) flush();
    }
    flush();
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  const dir = openSync(path.dirname(file), 'r');
  try {
    fdatasyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * Reads a snapshot back, bounded: at most MAX_SNAPSHOT_BYTES, line by line; a line that does
 * not parse (a torn or damaged file) is skipped. Reads the older one-JSON-array format too.
 */
function readSnapshot(file: string): OpenSession[] {
  const fd = openSync(file, 'r');
  let buf: Buffer;
  try {
    const size = Math.min(fstatSync(fd).size, MAX_SNAPSHOT_BYTES);
    buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    buf = buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
  const parse = (text: string): OpenSession | null => {
    try {
      const v = JSON.parse(text) as OpenSession;
      return v && typeof v === 'object' && typeof v.projectId === 'string' && typeof v.deviceId === 'string' ? v : null;
    } catch {
      return null;
    }
  };
  const out: OpenSession[] = [];
  if (buf[0] === 0x5b /* [ */) {
    try {
      out.push(...(JSON.parse(buf.toString('utf8')) as OpenSession[]));
    } catch {
      // damaged legacy snapshot: start without it
    }
    return out;
  }
  let from = 0;
  while (from < buf.length) {
    let to = buf.indexOf(0x0a, from);
    if (to < 0) to = buf.length;
    const s = parse(buf.toString('utf8', from, to));
    if (s) out.push(s);
    from = to + 1;
  }
  return out;
}
