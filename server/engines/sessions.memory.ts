/**
 * In-process SessionStore for the embedded shape (one process). Sessions live in one Map per
 * project keyed by device; an expiry heap finds due sessions without scanning, and each
 * project's touch order finds its least recently active session to evict. The three share one
 * small record per session (`Slot`: the session, its heap position, its touch number), so an
 * open session costs one Map entry and no key string of its own (the device id is the
 * session's own string), where it took three Map entries and a composite key string. A
 * session's expiry only ever moves later (`expiresAt`: its last hit and keep-alive never move back), so a hit
 * leaves the session's heap entry as it was, a lower bound of its expiry: an entry that comes
 * due is checked against the session and, when stale, pushed back at the session's real
 * expiry. A hit then costs no heap work (moving an entry down the heap on every hit was two
 * Map writes per level), and the heap still yields sessions in their real expiry order: an
 * entry is only taken when its score is the session's real expiry. Every method runs
 * synchronously inside one turn of the event loop, which is what makes `touch` atomic and
 * `claimExpired` exactly-once here.
 *
 * An open session is held as a `Held` record, not as the OpenSession it becomes: the fields a
 * hit changes are its own (times as small integers), while the ones fixed at its start that
 * many sessions share — the place (3 fields), the traffic source (referrer and UTM, 8) and the
 * client (the user agent's 7) — are one shared object per distinct value (`Interned`), and the
 * heap position and touch number live in the same record: 176 B per session where the
 * OpenSession, its slot and its two boxed times took 347 B (docs/benchmarks.md, "A smaller open
 * session"). An OpenSession is built on the way out (`open`), so callers cannot change stored
 * state by mutating what they got.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ExpiryHeap, type HeapItem } from './expiry-heap.ts';
import { applyHit, expiresAt, isExpiredAt, type OpenSession, type SessionHit, type SessionProgress, type SessionStore, type TouchSummary } from './sessions.ts';
import { type Touched, TouchOrder } from './touch-order.ts';

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

/** Where a session's visitor came from: fixed at its start, shared by sessions with equal ones. */
interface Source {
  readonly referrer: string;
  readonly referrerName: string;
  readonly referrerType: string;
  readonly utmSource: string;
  readonly utmMedium: string;
  readonly utmCampaign: string;
  readonly utmTerm: string;
  readonly utmContent: string;
}

/** The visitor's client, from its user agent: fixed at the session's start, shared likewise. */
interface Client {
  readonly os: string;
  readonly osVersion: string;
  readonly browser: string;
  readonly browserVersion: string;
  readonly device: string;
  readonly brand: string;
  readonly model: string;
}

/** Most distinct values an intern table keeps; past it the table starts again (held records keep theirs). */
const MAX_INTERNED = 4096;

/** One shared object per distinct value of a group of fields, within MAX_INTERNED of them. */
class Interned<T> {
  #byKey = new Map<string, T>();
  /** The shared object equal to `value` (keyed by `key`), `value` itself when it is the first. */
  get(key: string, value: T): T {
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    if (this.#byKey.size >= MAX_INTERNED) this.#byKey.clear();
    this.#byKey.set(key, value);
    return value;
  }
}

/** Where the visitor was, from its address: fixed at the session's start, shared likewise. */
interface Place {
  readonly country: string;
  readonly region: string;
  readonly city: string;
}

/**
 * Times are held as milliseconds from this, the module's load: small integers, which V8 keeps in
 * the record itself, where an epoch time (past 2^31) is a heap number of 16 B of its own per
 * field and record. Past ≈ 24 days of uptime they are heap numbers again (still exact).
 */
const TIME_BASE = Date.now();
/** `keepAliveRel` of a session never kept alive (its keepAliveUntil is 0). */
const NO_KEEPALIVE = -(2 ** 30);

/**
 * One open session as the store holds it, with its places in the expiry heap and in its
 * project's touch order. A class, so every record shares one shape from its first use.
 */
class Held implements HeapItem, Touched, SessionProgress {
  heapIndex = -1;
  touchSeq = 0;
  readonly id: string;
  readonly projectId: string;
  readonly deviceId: string;
  profileId: string;
  startedRel: number;
  lastSeenRel: number;
  keepAliveRel: number;
  eventCount: number;
  screenViewCount: number;
  revenue: number;
  entryPath: string;
  entryOrigin: string;
  exitPath: string;
  exitOrigin: string;
  readonly place: Place;
  readonly source: Source;
  readonly client: Client;

  constructor(s: OpenSession, place: Place, source: Source, client: Client) {
    this.id = s.id;
    this.projectId = s.projectId;
    this.deviceId = s.deviceId;
    this.profileId = s.profileId;
    this.startedRel = s.startedAt - TIME_BASE;
    this.lastSeenRel = s.lastSeenAt - TIME_BASE;
    this.keepAliveRel = s.keepAliveUntil === 0 ? NO_KEEPALIVE : s.keepAliveUntil - TIME_BASE;
    this.eventCount = s.eventCount;
    this.screenViewCount = s.screenViewCount;
    this.revenue = s.revenue;
    this.entryPath = s.entryPath;
    this.entryOrigin = s.entryOrigin;
    this.exitPath = s.exitPath;
    this.exitOrigin = s.exitOrigin;
    this.place = place;
    this.source = source;
    this.client = client;
  }

  get startedAt(): number {
    return this.startedRel + TIME_BASE;
  }
  set startedAt(at: number) {
    this.startedRel = at - TIME_BASE;
  }
  get lastSeenAt(): number {
    return this.lastSeenRel + TIME_BASE;
  }
  set lastSeenAt(at: number) {
    this.lastSeenRel = at - TIME_BASE;
  }
  get keepAliveUntil(): number {
    return this.keepAliveRel === NO_KEEPALIVE ? 0 : this.keepAliveRel + TIME_BASE;
  }
  set keepAliveUntil(at: number) {
    this.keepAliveRel = at === 0 ? NO_KEEPALIVE : at - TIME_BASE;
  }
}

/** The OpenSession a held record stands for (a new object). */
function open(h: Held): OpenSession {
  const { place: g, source: src, client: c } = h;
  return {
    id: h.id,
    projectId: h.projectId,
    deviceId: h.deviceId,
    profileId: h.profileId,
    startedAt: h.startedAt,
    lastSeenAt: h.lastSeenAt,
    keepAliveUntil: h.keepAliveUntil,
    eventCount: h.eventCount,
    screenViewCount: h.screenViewCount,
    revenue: h.revenue,
    entryPath: h.entryPath,
    entryOrigin: h.entryOrigin,
    exitPath: h.exitPath,
    exitOrigin: h.exitOrigin,
    referrer: src.referrer,
    referrerName: src.referrerName,
    referrerType: src.referrerType,
    utmSource: src.utmSource,
    utmMedium: src.utmMedium,
    utmCampaign: src.utmCampaign,
    utmTerm: src.utmTerm,
    utmContent: src.utmContent,
    country: g.country,
    region: g.region,
    city: g.city,
    os: c.os,
    osVersion: c.osVersion,
    browser: c.browser,
    browserVersion: c.browserVersion,
    device: c.device,
    brand: c.brand,
    model: c.model,
  };
}

/** Direct traffic's source: no referrer, no UTM (no key built, no table entry). */
const NO_SOURCE: Source = Object.freeze({
  referrer: '',
  referrerName: '',
  referrerType: '',
  utmSource: '',
  utmMedium: '',
  utmCampaign: '',
  utmTerm: '',
  utmContent: '',
});

/** Builds held records, sharing sources and clients between them. */
function recordMaker(): (s: OpenSession) => Held {
  const sources = new Interned<Source>();
  const clients = new Interned<Client>();
  const places = new Interned<Place>();
  return (s) => {
    const direct = !s.referrer && !s.referrerName && !s.referrerType && !s.utmSource && !s.utmMedium && !s.utmCampaign && !s.utmTerm && !s.utmContent;
    const source = direct
      ? NO_SOURCE
      : sources.get(
          `${s.referrer}\u0001${s.referrerName}\u0001${s.referrerType}\u0001${s.utmSource}\u0001${s.utmMedium}\u0001${s.utmCampaign}\u0001${s.utmTerm}\u0001${s.utmContent}`,
          {
            referrer: s.referrer,
            referrerName: s.referrerName,
            referrerType: s.referrerType,
            utmSource: s.utmSource,
            utmMedium: s.utmMedium,
            utmCampaign: s.utmCampaign,
            utmTerm: s.utmTerm,
            utmContent: s.utmContent,
          },
        );
    const client = clients.get(`${s.os}\u0001${s.osVersion}\u0001${s.browser}\u0001${s.browserVersion}\u0001${s.device}\u0001${s.brand}\u0001${s.model}`, {
      os: s.os,
      osVersion: s.osVersion,
      browser: s.browser,
      browserVersion: s.browserVersion,
      device: s.device,
      brand: s.brand,
      model: s.model,
    });
    const place = places.get(`${s.country}\u0001${s.region}\u0001${s.city}`, { country: s.country, region: s.region, city: s.city });
    return new Held(s, place, source, client);
  };
}

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
      out.push(open(h));
      remove(h);
    }
    while (count >= maxSessions) {
      const h = popDue(Number.POSITIVE_INFINITY)!;
      out.push(open(h));
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
    const out: Touch = current ? { held, started: true, closed: open(current) } : { held, started: true };
    if (evicted.length > 0) out.evicted = evicted;
    return out;
  }

  return {
    async touch(projectId, deviceId, hit, seed) {
      const { held, ...r } = touch(projectId, deviceId, hit, seed);
      return { ...r, session: open(held) };
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
      return h ? open(h) : null;
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
        out.push(open(h));
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
  for (const p of projects.values()) for (const h of p.byDevice.values()) yield open(h);
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
