/**
 * The React Native client's logic with an in-memory AsyncStorage and AppState (and the core's
 * fake socket): calls before the storage loaded are kept, the queue survives an app restart,
 * AppState switches heartbeats and saves on background, React Navigation screens are tracked.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../../core/src/fakes.test-support.ts';
import { type AppStateLike, type AsyncStorageLike, createNativeClient, type NavigationRefLike, trackNavigation } from './client.ts';

class MemoryStorage implements AsyncStorageLike {
  data = new Map<string, string>();
  async getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  async setItem(k: string, v: string) {
    this.data.set(k, v);
  }
  async removeItem(k: string) {
    this.data.delete(k);
  }
}

class MemoryAppState implements AppStateLike {
  currentState = 'active';
  listeners: Array<(s: string) => void> = [];
  addEventListener(_: 'change', l: (s: string) => void) {
    this.listeners.push(l);
    return { remove: () => this.listeners.splice(this.listeners.indexOf(l), 1) };
  }
  set(s: string) {
    this.currentState = s;
    for (const l of this.listeners) l(s);
  }
}

function app(storage = new MemoryStorage()) {
  const sockets: FakeSocket[] = [];
  const appState = new MemoryAppState();
  const posts: string[] = [];
  const client = createNativeClient(
    { apiUrl: 'https://lp.test', clientId: 'c1' },
    {
      storage,
      appState,
      socket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      fetch: (async (_url: string, init: { body: string }) => {
        posts.push(init.body);
        return new Response(JSON.stringify({ accepted: 0, rejected: [], dropped: [] }), { status: 200 });
      }) as unknown as typeof fetch,
    },
  );
  return { client, sockets, appState, storage, posts, last: () => sockets[sockets.length - 1]! };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('@livepanel/react-native', () => {
  it('keeps calls made before AsyncStorage answered, in order, with the stored profile applied after', async () => {
    const storage = new MemoryStorage();
    storage.data.set('lp_p', 'u-9');
    const a = app(storage);
    a.client.track('opened');
    a.client.identify({ profileId: 'u-10', email: 'ten@example.com' });
    a.client.track('after_login');
    await a.client.ready;
    a.last().open();
    await vi.advanceTimersByTimeAsync(50);
    const events = a
      .last()
      .frames()[0]!
      .events.map((e) => [e.payload.name ?? e.type, e.payload.profileId]);
    expect(events).toEqual([
      ['opened', 'u-9'],
      ['identify', 'u-10'],
      ['after_login', 'u-10'],
    ]);
  });

  it('an app killed with events unacknowledged sends them at its next start, same ids, same device', async () => {
    const storage = new MemoryStorage();
    const first = app(storage);
    const c1 = await first.client.ready;
    for (let i = 0; i < 5; i++) first.client.track('tap', { i });
    await vi.advanceTimersByTimeAsync(200); // saved (the socket never opened: offline)
    const second = app(storage);
    const c2 = await second.client.ready;
    expect(c2.deviceId).toBe(c1.deviceId);
    second.last().open();
    await vi.advanceTimersByTimeAsync(0);
    const ids = second
      .last()
      .frames()[0]!
      .events.map((e) => e.id);
    expect(ids).toHaveLength(5);
    expect(ids).toEqual(JSON.parse(storage.data.get('lp_q')!).map((e: string) => JSON.parse(e).id));
    second.last().ackAll();
    await vi.advanceTimersByTimeAsync(200);
    expect(storage.data.has('lp_q')).toBe(false);
  });

  it('heartbeats only in the foreground; going to the background saves and sends what is pending', async () => {
    const a = app();
    await a.client.ready;
    a.last().open();
    await vi.advanceTimersByTimeAsync(60_000);
    const foreground = a.last().heartbeats();
    expect(foreground).toBeGreaterThanOrEqual(3);
    a.client.track('last_tap');
    a.appState.set('background');
    expect(JSON.parse(a.storage.data.get('lp_q')!)).toHaveLength(1);
    expect(a.posts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(a.last().heartbeats()).toBe(foreground);
    a.appState.set('active');
    expect(a.last().heartbeats()).toBe(foreground + 1);
  });

  it('tracks each React Navigation screen once', async () => {
    const a = app();
    await a.client.ready;
    a.last().open();
    let route = { name: 'Home' };
    const listeners: Array<() => void> = [];
    const ref: NavigationRefLike = {
      getCurrentRoute: () => route,
      addListener: (_t, l) => {
        listeners.push(l);
        return () => {};
      },
    };
    trackNavigation(a.client, ref);
    for (const name of ['Home', 'Settings', 'Settings', 'Home']) {
      route = { name };
      for (const l of listeners) l();
    }
    await vi.advanceTimersByTimeAsync(50);
    expect(
      a
        .last()
        .frames()[0]!
        .events.map((e) => (e.payload.properties as Record<string, string>).__path),
    ).toEqual(['Home', 'Settings', 'Home']);
  });
});
