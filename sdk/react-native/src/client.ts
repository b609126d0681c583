/**
 * Livepanel in a React Native app, with its platform pieces passed in (so this file runs
 * anywhere, tests included; index.ts passes React Native's). AsyncStorage is asynchronous and
 * the shared client wants its device, profile and saved queue at start: calls made before the
 * storage answered are kept and replayed in order. AppState drives the socket's life: in the
 * foreground it heartbeats (the session stays open, the user counts as online); going to the
 * background saves the queue and sends what is pending.
 */
import { type KeyValue, Livepanel, type LivepanelOptions, type Platform, type PostResult, type Properties, type SocketLike } from '@livepanel/core';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export interface AsyncStorageLike {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
}

export interface AppStateLike {
  currentState: string | null;
  addEventListener(type: 'change', listener: (state: string) => void): { remove(): void };
}

export interface NativeDeps {
  storage: AsyncStorageLike;
  appState: AppStateLike;
  socket?: (url: string) => SocketLike;
  fetch: typeof fetch;
}

/** What the app sees before and after the storage has loaded (same API either way). */
export type NativeClient = Pick<
  LivepanelNative,
  'track' | 'identify' | 'increment' | 'decrement' | 'revenue' | 'group' | 'assignGroup' | 'setGlobalProperties' | 'reset' | 'optOut' | 'optIn' | 'screenView'
> & {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  /** Resolves with the started client once the storage has loaded. */
  ready: Promise<LivepanelNative>;
};

const KEYS = ['lp_d', 'lp_p', 'lp_o', 'lp_q'];

export class LivepanelNative extends Livepanel {
  private _last?: string;

  /** Tracks a screen view (`__path` is the screen name), once per screen in a row. */
  screenView(screen: string, properties?: Properties): void {
    if (screen === this._last) return;
    this._last = screen;
    this.track('screen_view', { ...properties, __path: screen, __title: screen });
  }

  /** AppState changes: heartbeats in the foreground; in the background, save and send what is pending. */
  appStateChanged(state: string | null): void {
    const active = state === 'active';
    if (active) this.t.connect();
    else this.t.unload();
    this.t.setActive(active);
  }
}

/** Starts Livepanel: returns at once, and keeps calls made before the storage loaded until it has. */
export function createNativeClient(options: LivepanelOptions, deps: NativeDeps): NativeClient {
  const cache = new Map<string, string>();
  const storage: KeyValue = {
    get: (k) => cache.get(k) ?? null,
    set: (k, v) => {
      if (v === null) {
        cache.delete(k);
        deps.storage.removeItem(k).catch(() => {});
      } else {
        cache.set(k, v);
        deps.storage.setItem(k, v).catch(() => {});
      }
    },
  };
  const platform: Platform = {
    sdk: 'react-native',
    sdkVersion: VERSION,
    socket: deps.socket,
    post: async (url, body): Promise<PostResult> => {
      const r = await deps.fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      return { status: r.status, answer: (await r.json().catch(() => undefined)) as PostResult['answer'], retryAfter: Number(r.headers.get('retry-after')) };
    },
    storage,
    queue: { load: () => JSON.parse(cache.get('lp_q') ?? '[]'), save: (q) => storage.set('lp_q', q.length ? JSON.stringify(q) : null) },
    device: true,
  };
  const pending: Array<(c: LivepanelNative) => void> = [];
  let client: LivepanelNative | undefined;
  const ready = Promise.all(KEYS.map(async (k) => [k, await deps.storage.getItem(k).catch(() => null)] as const)).then((entries) => {
    for (const [k, v] of entries) if (v !== null) cache.set(k, v);
    const c = new LivepanelNative(options, platform);
    c.appStateChanged(deps.appState.currentState);
    deps.appState.addEventListener('change', (s) => c.appStateChanged(s));
    client = c;
    for (const call of pending.splice(0)) call(c);
    return c;
  });
  const later =
    <A extends unknown[]>(fn: (c: LivepanelNative, ...a: A) => void) =>
    (...a: A) => {
      if (client) fn(client, ...a);
      else pending.push((c) => fn(c, ...a));
    };
  return {
    ready,
    track: later((c, name: string, properties?: Properties) => c.track(name, properties)),
    identify: later((c, p: Parameters<Livepanel['identify']>[0]) => c.identify(p)),
    increment: later((c, property: string, value?: number, profileId?: string) => c.increment(property, value, profileId)),
    decrement: later((c, property: string, value?: number, profileId?: string) => c.decrement(property, value, profileId)),
    revenue: later((c, amount: number, properties?: Properties) => c.revenue(amount, properties)),
    group: later((c, p: Parameters<Livepanel['group']>[0]) => c.group(p)),
    assignGroup: later((c, ids: string | string[]) => c.assignGroup(ids)),
    setGlobalProperties: later((c, p: Properties) => c.setGlobalProperties(p)),
    reset: later((c) => c.reset()),
    optOut: later((c) => c.optOut()),
    optIn: later((c) => c.optIn()),
    screenView: later((c, screen: string, properties?: Properties) => c.screenView(screen, properties)),
    flush: () => ready.then((c) => c.flush()),
    shutdown: () => ready.then((c) => c.shutdown()),
  };
}

/** The part of a React Navigation container ref that screen tracking needs. */
export interface NavigationRefLike {
  getCurrentRoute(): { name: string } | undefined;
  addListener(type: 'state', listener: () => void): () => void;
}

/** One `screen_view` per screen shown: call with your `NavigationContainer` ref (`createNavigationContainerRef()`). */
export function trackNavigation(client: Pick<NativeClient, 'screenView'>, ref: NavigationRefLike): () => void {
  const now = () => {
    const route = ref.getCurrentRoute();
    if (route) client.screenView(route.name);
  };
  now();
  return ref.addListener('state', now);
}
