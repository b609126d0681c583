/**
 * An open session as the embedded session store holds it (sessions.memory.ts): a `Held`
 * record, not the OpenSession it becomes. The fields a hit changes are its own (times as small
 * integers), while the ones fixed at its start that many sessions share — the place (3 fields),
 * the traffic source (referrer and UTM, 8) and the client (the user agent's 7) — are one shared
 * object per distinct value (`Interned`), and the store's heap position and touch number live
 * in the same record: 176 B per session where the OpenSession, its slot and its two boxed times
 * took 347 B (docs/benchmarks.md, "A smaller open session"). An OpenSession is built on the way
 * out (`openSession`), so callers cannot change stored state by mutating what they got.
 */
import type { HeapItem } from './expiry-heap.ts';
import type { OpenSession, SessionProgress } from './sessions.ts';
import type { Touched } from './touch-order.ts';

/** Where a session's visitor came from: fixed at its start, shared by sessions with equal ones. */
export interface Source {
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
export interface Client {
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
export interface Place {
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
export class Held implements HeapItem, Touched, SessionProgress {
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
export function openSession(h: Held): OpenSession {
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

/** Builds held records, sharing sources, clients and places between them (one maker per store). */
export function recordMaker(): (s: OpenSession) => Held {
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
