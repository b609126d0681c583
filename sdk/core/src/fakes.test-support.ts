/**
 * Test doubles for the SDK core: a socket the test opens, acknowledges and closes by hand, an
 * HTTP sender that answers as told, and an in-memory store. Time is Vitest's fake clock.
 */
import type { KeyValue, Platform } from './client.ts';
import type { PostResult, SocketLike } from './transport.ts';

export class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closedByClient = false;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closedByClient = true;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  /** The server closes it (or it fails to open, when never opened). */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  frames(): Array<{ type: string; seq: number; events: Array<{ id: string; type: string; payload: Record<string, unknown> }> }> {
    return this.sent.map((s) => JSON.parse(s)).filter((f) => f.type === 'batch');
  }
  heartbeats(): number {
    return this.sent.filter((s) => s.includes('heartbeat')).length;
  }
  ack(seq: number, extra: Record<string, unknown> = {}): void {
    this.onmessage?.({ data: JSON.stringify({ type: 'ack', seq, accepted: 1, rejected: [], dropped: [], ...extra }) });
  }
  ackAll(): void {
    for (const f of this.frames()) this.ack(f.seq);
  }
  error(seq: number, code: string): void {
    this.onmessage?.({ data: JSON.stringify({ type: 'error', seq, code, message: code }) });
  }
}

export interface Harness {
  platform: Platform;
  sockets: FakeSocket[];
  posts: Array<{ url: string; body: { events: Array<{ id: string }> }; unload: boolean }>;
  store: Map<string, string>;
  /** What the next POSTs answer (default: accept everything). */
  answer: (body: { events: unknown[] }) => PostResult | Error;
  last(): FakeSocket;
}

export function harness(opts: { socket?: boolean; store?: Map<string, string> } = {}): Harness {
  const h: Harness = {
    sockets: [],
    posts: [],
    store: opts.store ?? new Map(),
    answer: (b) => ({ status: 200, answer: { accepted: b.events.length, rejected: [], dropped: [] } }),
    last: () => h.sockets[h.sockets.length - 1]!,
    platform: undefined as never,
  };
  const storage: KeyValue = { get: (k) => h.store.get(k), set: (k, v) => (v === null ? h.store.delete(k) : h.store.set(k, v)) };
  h.platform = {
    sdk: 'test',
    sdkVersion: '1.0.0',
    socket:
      opts.socket === false
        ? undefined
        : (url) => {
            const s = new FakeSocket(url);
            h.sockets.push(s);
            return s;
          },
    post: async (url, body, unload) => {
      const parsed = JSON.parse(body);
      h.posts.push({ url, body: parsed, unload });
      const a = h.answer(parsed);
      if (a instanceof Error) throw a;
      return a;
    },
    storage,
    queue: {
      load: () => JSON.parse(h.store.get('queue') ?? '[]'),
      save: (q) => h.store.set('queue', JSON.stringify(q)),
    },
    device: true,
  };
  return h;
}
