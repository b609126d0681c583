/**
 * The Livepanel client every SDK shares: the public API (same names on every platform),
 * global properties, identity, consent, `beforeSend`, local validation, and event ids. The
 * platform packages (web, Node, React Native) give it a socket factory, an HTTP sender and
 * storage, and add what only they know (page views, app state).
 */
import { type Post, type SocketLike, Transport, type TransportStats } from './transport.ts';
import { type EventBody, type GroupPayload, type IdentifyPayload, MAX_DEPTH, MAX_EVENT_BYTES, MAX_KEYS, type Properties } from './wire.ts';

export interface LivepanelOptions {
  /** Livepanel's URL, e.g. `https://livepanel.example.com`. */
  apiUrl: string;
  /** A `write` client of the project. */
  clientId: string;
  /** Start without tracking or connecting until `optIn()` (consent banners). */
  disabled?: boolean;
  /** Log what the SDK does (and why it drops anything) to the console. */
  debug?: boolean;
  /** Sees every event before it is queued: return it (changed or not), or `null` to drop it. */
  beforeSend?: (event: EventBody) => EventBody | null | undefined;
  /** Properties added to every event. */
  globalProperties?: Properties;
  /** Most unacknowledged events kept (in memory and persisted); the oldest are dropped past it. Default 1000. */
  maxQueue?: number;
}

/** Synchronous key-value storage (localStorage, or a cache in front of AsyncStorage). */
export interface KeyValue {
  get(key: string): string | null | undefined;
  set(key: string, value: string | null): void;
}

/** What a platform package provides. */
export interface Platform {
  sdk: string;
  sdkVersion: string;
  socket?: (url: string) => SocketLike;
  post: Post;
  storage?: KeyValue;
  /** Where the unacknowledged queue is saved; its events are restored at start. */
  queue?: { load(): string[]; save(events: string[]): void };
  /** Has a device id of its own (browsers, apps); servers let Livepanel derive one. */
  device: boolean;
  timer?: (fn: () => void, ms: number) => unknown;
}

/** Keys of what the SDK remembers between page loads. */
const DEVICE = 'lp_d';
const PROFILE = 'lp_p';
const OPTED_OUT = 'lp_o';

/** A random base-36 id of about 52 bits (Math.random: crypto.getRandomValues is not everywhere, and ids need no secrecy). */
export const randomId = (): string => Math.random().toString(36).slice(2);

/**
 * Why properties would be refused by the server (too deep, too many keys), checked before
 * anything is serialised so a cyclic object is caught too; undefined when fine.
 */
export function checkProperties(props: unknown): 'too deep' | 'too many keys' | undefined {
  let keys = 0;
  const walk = (v: unknown, depth: number): 'too deep' | 'too many keys' | undefined => {
    if (v === null || v === undefined) return;
    if (typeof v !== 'object') return ++keys > MAX_KEYS ? 'too many keys' : undefined;
    if (depth >= MAX_DEPTH) return 'too deep';
    for (const k in v) {
      const why = walk((v as Record<string, unknown>)[k], depth + 1);
      if (why) return why;
    }
  };
  return walk(props, 0);
}

export class Livepanel {
  profileId?: string;
  deviceId?: string;
  groups: string[] = [];
  global: Properties;
  protected t: Transport;
  protected disabled: boolean;
  /** Event ids: this client's random prefix and a counter. */
  // biome-ignore lint/style/useTemplate: a few bytes less in the gzipped script tag
  private _tab = randomId() + '.';
  private _n = 0;

  constructor(
    readonly options: LivepanelOptions,
    protected platform: Platform,
  ) {
    const s = platform.storage;
    this.global = { ...options.globalProperties };
    this.disabled = !!options.disabled || s?.get(OPTED_OUT) === '1';
    this.profileId = s?.get(PROFILE) || undefined;
    this.t = new Transport({
      ...platform,
      apiUrl: options.apiUrl.replace(/\/+$/, ''),
      clientId: options.clientId,
      maxQueue: options.maxQueue ?? 1000,
      log: (...a) => this.log(...a),
    });
    if (platform.device) this._device(s?.get(DEVICE));
    if (!this.disabled) this.t.start();
  }

  /** Tracks an event. `profileId` and `groups` among the properties replace the client's for this event. */
  track(name: string, properties?: Properties & { profileId?: string; groups?: string[] }): void {
    const { profileId, groups, ...rest } = properties ?? {};
    this.send({
      type: 'track',
      payload: {
        name,
        profileId: profileId ?? this.profileId,
        groups: groups ?? (this.groups.length ? this.groups : undefined),
        // The event's time and device: it may be sent much later (offline, a server restart),
        // and after a reset() on a socket announcing the next device — an event tracked before
        // the logout still belongs to the device it was tracked on.
        properties: { ...this.global, __timestamp: new Date().toISOString(), __deviceId: this.deviceId, ...rest },
      },
    });
  }

  /** Names the visitor: later events carry the profile id; the other fields update the profile. */
  identify(payload: IdentifyPayload): void {
    this.profileId = String(payload.profileId);
    this._set(PROFILE, this.profileId);
    if (Object.keys(payload).length > 1) this.send({ type: 'identify', payload: { ...payload, profileId: this.profileId } });
  }

  /** Adds `value` (default 1) to a numeric profile property of the identified profile (or `profileId`). */
  increment(property: string, value = 1, profileId = this.profileId): void {
    this.count('increment', property, value, profileId);
  }

  decrement(property: string, value = 1, profileId = this.profileId): void {
    this.count('decrement', property, value, profileId);
  }

  /** Records revenue in the smallest currency unit (cents): a `revenue` event with `__revenue`. */
  revenue(amount: number, properties?: Properties): void {
    this.track('revenue', { ...properties, __revenue: amount });
  }

  /** Creates or updates a group (a company, a team…). */
  group(payload: GroupPayload): void {
    this.send({ type: 'group', payload });
  }

  /** Puts the identified profile in groups; later events carry them. */
  assignGroup(groupIds: string | string[]): void {
    const ids = ([] as string[]).concat(groupIds);
    this.groups = [...new Set([...this.groups, ...ids])];
    this.send({ type: 'assign_group', payload: { groupIds: ids, profileId: this.profileId } });
  }

  setGlobalProperties(properties: Properties): void {
    Object.assign(this.global, properties);
  }

  /** Logout: forgets the profile and groups and starts a new anonymous device. */
  reset(): void {
    this.profileId = undefined;
    this._set(PROFILE);
    this.groups = [];
    if (this.platform.device) this._device();
  }

  /** Resolves once every event tracked so far is acknowledged by Livepanel (or dropped). */
  flush(): Promise<void> {
    return this.t.flush();
  }

  /** Flushes, then closes the socket (the Node SDK bounds the wait). */
  async shutdown(): Promise<void> {
    await this.flush();
    this.t.stop();
  }

  /** Stops tracking, forgets queued events and closes the socket; remembered across page loads. */
  optOut(): void {
    this._set(OPTED_OUT, '1');
    this.disabled = true;
    this.t.clear();
    this.t.stop();
  }

  optIn(): void {
    this._set(OPTED_OUT);
    this.disabled = false;
    this.t.start();
  }

  stats(): TransportStats {
    return this.t.stats();
  }

  protected count(type: 'increment' | 'decrement', property: string, value: number, profileId?: string): void {
    if (profileId) this.send({ type, payload: { profileId, property, value } });
    else this.log('no profile', type);
  }

  /** beforeSend, validation, id, queue. */
  protected send(body: EventBody): void {
    if (this.disabled) return;
    const b = this.options.beforeSend ? this.options.beforeSend(body) : body;
    if (!b) {
      this.log('dropped', body);
      return;
    }
    // Refused locally, never sent: what the server would refuse (too deep, too many keys, too
    // large) or cannot be serialised at all (a cycle is caught as too deep, a BigInt throws).
    let why: string | undefined = checkProperties((b.payload as { properties?: unknown }).properties);
    let json = '';
    try {
      json = JSON.stringify({ id: this._tab + (this._n++).toString(36), ...b });
    } catch {
      why = 'not JSON';
    }
    // Its size in UTF-8 bytes, as the server counts it.
    if (unescape(encodeURIComponent(json)).length > MAX_EVENT_BYTES) why = 'too large';
    if (why) this.log('refused', why, b);
    else this.t.enqueue(json);
  }

  private _set(key: string, value: string | null = null): void {
    this.platform.storage?.set(key, value);
  }

  /** Takes the stored device id, or starts a new one. */
  private _device(id?: string | null): void {
    this.deviceId = id || randomId() + randomId();
    this._set(DEVICE, this.deviceId);
    this.t.setDevice(this.deviceId);
  }

  protected log(...args: unknown[]): void {
    if (this.options.debug) console.log('[livepanel]', ...args);
  }
}
