/**
 * In-process SessionStore for the embedded shape (one process). Sessions live in one Map per
 * project keyed by device; an expiry heap finds due sessions without scanning, and each
 * project's touch order finds its least recently active session to evict. The three share one
 * record per session (`Held`: the session, its heap position, its touch number), so an open
 * session costs one Map entry and no key string of its own (the device id is the session's own
 * string), where it took three Map entries and a composite key string. A
 * session's expiry only ever moves later (`expiresAt`: its last hit and keep-alive never move back), so a hit
 * leaves the session's heap entry as it was, a lower bound of its expiry: an entry that comes
 * due is checked against the session and, when stale, pushed back at the session's real
 * expiry. A hit then costs no heap work (moving an entry down the heap on every hit was two
 * Map writes per level), and the heap still yields sessions in their real expiry order: an
 * entry is only taken when its score is the session's real expiry. Every method runs
 * synchronously inside one turn of the event loop, which is what makes `touch` atomic and
 * `claimExpired` exactly-once here.
 *
 * An open session is held as a compact `Held` record (session-record.ts).
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ExpiryHeap } from './expiry-heap.ts';
import { type Held, openSession, recordMaker } from './session-record.ts';
import { applyHit, expiresAt, isExpiredAt, type OpenSession, type SessionHit, type SessionProgress, type SessionStore, type TouchSummary } from './sessions.ts';
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

/** What the internal `touch` returns: the held record after the hit, and the sessions to write. */
interface Touch {
  held: Held;
  started: boolean;
  closed?: OpenSession;
  evicted?: OpenSession[];
}

/** One project's open sessions by device, and their touch order. */
interface ProjectSessions {
  byDevice: Map<string, Held>;
  order: TouchOrder<Held>;
  /**
   * The origin of the project's latest session or hit. A site's sessions nearly all share one
   * origin, but each event brings its own copy of the string (parsed from its URL, ≈ 90 B);
   * a session's origins are pointed at this one when equal, so 100,000 sessions hold one copy.
   */
  origin: string;
}

export function createMemorySessionStore({ timeoutMs, snapshotFile, maxSessions = 200_000, maxPerProject = 100_000 }: MemorySessionStoreOptions): SessionStore {
  const projects = new Map<string, ProjectSessions>();
  const expiry = new ExpiryHeap<Held>();
  const record = recordMaker();
  let count = 0;

  const heldOf = (projectId: string, deviceId: string) => projects.get(projectId)?.byDevice.get(deviceId);
  const projectOf = (projectId: string): ProjectSessions => {
    let p = projects.get(projectId);
    if (!p) {
      p = { byDevice: new Map(), order: new TouchOrder(), origin: '' };
      projects.set(projectId, p);
    }
    return p;
  };
  /** Points `h`'s exit (and with `entry`, entry) origin at the project's copy when equal. */
  const shareOrigin = (p: ProjectSessions, h: SessionProgress, entry: boolean) => {
    if (h.exitOrigin === p.origin) h.exitOrigin = p.origin;
    else p.origin = h.exitOrigin;
    if (entry && h.entryOrigin === p.origin) h.entryOrigin = p.origin;
  };
  const put = (p: ProjectSessions, s: OpenSession): Held => {
    const h = record(s);
    shareOrigin(p, h, true);
    p.byDevice.set(h.deviceId, h);
    count++;
    expiry.set(h, expiresAt(h, timeoutMs));
    p.order.touch(h);
    return h;
  };
  /**
   * Takes the session that expires first, if that is at or before `max`: stale entries met on
   * the way (their session was hit since) go back in at the session's expiry.
   */
  const popDue = (max: number): Held | undefined => {
    for (;;) {
      const score = expiry.minScore();
      if (score === undefined || score > max) return undefined;
      const h = expiry.popAtMost(max)!;
      const due = expiresAt(h, timeoutMs);
      if (due <= score) return h;
      expiry.set(h, due);
    }
  };
  /** Removes a stored session (it may already be out of the heap: `popDue`). */
  const remove = (h: Held) => {
    const p = projects.get(h.projectId)!;
    p.byDevice.delete(h.deviceId);
    count--;
    expiry.delete(h);
    p.order.delete(h);
    if (p.byDevice.size === 0) projects.delete(h.projectId);
  };
  /** Makes room for one more session of `projectId`; returns the sessions evicted. */
  const makeRoom = (projectId: string): OpenSession[] => {
    const out: OpenSession[] = [];
    const own = projects.get(projectId);
    if (own && own.byDevice.size >= maxPerProject) {
      const h = own.order.oldest()!;
      out.push(openSession(h));
      remove(h);
    }
    while (count >= maxSessions) {
      const h = popDue(Number.POSITIVE_INFINITY)!;
      out.push(openSession(h));
      remove(h);
    }
    return out;
  };

  /** Sessions evicted while loading a snapshot larger than the bounds: handed to the next `touch`. */
  let evictedAtLoad: OpenSession[] = [];
  if (snapshotFile && existsSync(snapshotFile)) {
    for (const sess of readSnapshot(snapshotFile)) {
      const old = heldOf(sess.projectId, sess.deviceId);
      if (old) remove(old);
      evictedAtLoad.push(...makeRoom(sess.projectId));
      put(projectOf(sess.projectId), sess);
    }
    rmSync(snapshotFile);
  }

  /** `touch`, returning the held record itself (the public methods build an OpenSession or a summary from it). */
  function touch(projectId: string, deviceId: string, hit: SessionHit, seed: () => OpenSession, alreadyRecent = false): Touch {
    const current = heldOf(projectId, deviceId);
    if (current && !isExpiredAt(current, hit.at, timeoutMs)) {
      applyHit(current, hit); // its expiry moves later: the heap entry stays a lower bound
      const p = projects.get(projectId)!;
      shareOrigin(p, current, false);
      if (!alreadyRecent) p.order.touch(current);
      return { held: current, started: false };
    }
    const fresh = seed();
    if (current) remove(current);
    const evicted = makeRoom(projectId);
    if (evictedAtLoad.length > 0) {
      evicted.push(...evictedAtLoad);
      evictedAtLoad = [];
    }
    const held = put(projectOf(projectId), fresh);
    const out: Touch = current ? { held, started: true, closed: openSession(current) } : { held, started: true };
    if (evicted.length > 0) out.evicted = evicted;
    return out;
  }

  return {
    async touch(projectId, deviceId, hit, seed) {
      const { held, ...r } = touch(projectId, deviceId, hit, seed);
      return { ...r, session: openSession(held) };
    },

    async touchMany(projectId, items) {
      // A hit right after another of the same device need not move it in the recency order
      // (it is the most recent already).
      const out: TouchSummary[] = new Array(items.length);
      let lastDevice: string | undefined;
      for (let i = 0; i < items.length; i++) {
        const { deviceId, hit, seed } = items[i]!;
        const r = touch(projectId, deviceId, hit, seed, deviceId === lastDevice);
        const summary: TouchSummary = { id: r.held.id, exitPath: r.held.exitPath, exitOrigin: r.held.exitOrigin, started: r.started };
        if (r.closed) summary.closed = r.closed;
        if (r.evicted) summary.evicted = r.evicted;
        out[i] = summary;
        lastDevice = deviceId;
      }
      return out;
    },

    async get(projectId, deviceId) {
      const h = heldOf(projectId, deviceId);
      return h ? openSession(h) : null;
    },

    async keepAlive(projectId, deviceId, until) {
      const h = heldOf(projectId, deviceId);
      if (!h || until <= h.keepAliveUntil) return;
      h.keepAliveUntil = until; // a later expiry: the heap entry stays a lower bound
    },

    async claimExpired(now, limit) {
      const out: OpenSession[] = [];
      while (out.length < limit) {
        const h = popDue(now);
        if (h === undefined) break;
        remove(h);
        out.push(openSession(h));
      }
      return out;
    },

    async size() {
      return count;
    },

    async close() {
      if (!snapshotFile) return;
      writeSnapshot(snapshotFile, sessionsOf(projects));
      projects.clear();
      count = 0;
    },
  };
}

function* sessionsOf(projects: Map<string, ProjectSessions>): Iterable<OpenSession> {
  for (const p of projects.values()) for (const h of p.byDevice.values()) yield openSession(h);
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
