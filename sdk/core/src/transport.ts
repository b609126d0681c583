/**
 * The SDK transport: one WebSocket to `/ws` speaking the acked batch protocol, with `POST
 * /batch` as the fallback. Events arrive here as JSON strings that already carry their
 * client-made id, so every resend is byte-for-byte the same event and the server drops
 * whichever copy comes second.
 *
 * - Batching: a frame goes out 50 ms after the first queued event, or at once when 50 wait.
 * - An event stays queued until the batch that carried it is acknowledged; a closed socket,
 *   an `overloaded`/`rate_limited` answer or a failed request puts it back, to be resent with
 *   the same id after a jittered exponential backoff (capped at 30 s, reset by success).
 *   A server that closes with 1012 (draining) is reconnected to at once.
 * - While the socket cannot open, batches go over `POST /batch`; the socket keeps retrying.
 * - The queue is bounded (`maxQueue`): past it the oldest event is dropped and counted.
 */
import { type BatchAnswer, type ServerFrame, WS_BATCH, WS_CLOSE_RESTART, WS_PATH } from './wire.ts';

/** The subset of the browser's WebSocket the transport uses (the `ws` package and React Native match it). */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** What a `POST /batch` came back with; a network failure rejects instead. */
export interface PostResult {
  status: number;
  /** The JSON answer: a BatchAnswer when the batch was read, an error body otherwise. */
  answer?: Partial<BatchAnswer>;
  /** Seconds, from a 429/503's `Retry-After` (0 or NaN when absent). */
  retryAfter?: number;
}
/** Sends a `/batch` body. `unload` marks a send made while the page goes away (keepalive, not awaited). */
export type Post = (url: string, body: string, unload: boolean) => Promise<PostResult>;

export interface TransportOptions {
  apiUrl: string;
  clientId: string;
  sdk: string;
  sdkVersion: string;
  /** Opens a socket; absent (or throwing: no WebSocket, blocked) where there is none, and everything goes over HTTP. */
  socket?: (url: string) => SocketLike;
  post: Post;
  /** Most events kept unacknowledged; past it the oldest are dropped. */
  maxQueue: number;
  /** Where the queue is saved (debounced) and restored from; the platform decides. */
  queue?: { load(): string[]; save(events: string[]): void };
  log: (...args: unknown[]) => void;
  /** Timer factory (Node unrefs its timers so a forgotten client does not hold the process open). */
  timer?: (fn: () => void, ms: number) => unknown;
}

export interface TransportStats {
  /** Events not acknowledged yet (sent or not). */
  queued: number;
  /** Events dropped because the queue was full. */
  dropped: number;
  /** Events the server rejected or that could not be sent at all (see the debug log for why). */
  rejected: number;
  /** The socket is open. */
  connected: boolean;
}

const BATCH_DELAY_MS = 50;
const BATCH_EVENTS = 50;
const HEARTBEAT_MS = 20_000;
const MAX_BACKOFF_MS = 30_000;
/** Batches sent and not acknowledged on one socket (the server refuses past 256). */
const MAX_IN_FLIGHT = 16;
/** Bytes of events per frame/request (at most WS_BATCH events either way), well under the server's 1 MB body limit. */
const MAX_BATCH_BYTES = 256 * 1024;
/** A page going away may send about 64 KB with keepalive; what does not fit stays saved. */
const UNLOAD_BYTES = 60_000;
/** Error codes for a batch that would fail again (malformed, too large): dropped. Any other (overloaded, rate_limited, shutting_down, internal…) is resent later. */
const FINAL_CODES = /^(invalid|payload|too_)/;

type TimerKey = 'flush' | 'retry' | 'conn' | 'beat' | 'save';

export class Transport {
  /** Events not sent yet (or put back after a failure), oldest first, as JSON strings with their ids. */
  private _q: string[];
  /** Sent batches waiting for their ack, by seq. */
  private _wait = new Map<number, string[]>();
  /** Events in `_wait`. */
  private _n = 0;
  private _seq = 0;
  private _ws?: SocketLike;
  private _open?: boolean;
  /** The socket could not open: send over HTTP until it does. */
  private _http?: boolean;
  /** Failures since the last success: of connecting, and of sending batches. */
  private _attempt = 0;
  private _retries = 0;
  private _active?: boolean;
  private _stopped = true;
  /** Pending timers by purpose (plain keys: the minifier renames `_` members, never strings). */
  private _tm: Partial<Record<TimerKey, unknown>> = {};
  private _idle: Array<() => void> = [];
  private _dropped = 0;
  private _rejected = 0;
  deviceId?: string;

  constructor(private o: TransportOptions) {
    this._q = o.queue?.load() ?? [];
    this._trim();
  }

  /** Queues one event (a JSON string with its id) and schedules its batch. */
  enqueue(event: string): void {
    this._q.push(event);
    this._trim();
    this._save();
    if (!this._tm.flush || this._q.length >= BATCH_EVENTS) this._at('flush', () => this._send(), this._q.length < BATCH_EVENTS ? BATCH_DELAY_MS : 0);
  }

  /** Sends what is queued now; resolves once nothing is left unacknowledged. */
  flush(): Promise<void> {
    this._send();
    return new Promise((r) => (this._size() ? this._idle.push(r) : r()));
  }

  /** Opens the socket if it is not open (on start, when the network is back, in the foreground). */
  connect(): void {
    this._at('conn');
    if (this._ws || this._stopped) return;
    let ws: SocketLike | undefined;
    try {
      ws = this.o.socket?.(this.o.apiUrl.replace(/^http/, 'ws') + WS_PATH + this._who());
    } catch {}
    if (!ws) {
      // No WebSocket here (or it threw): HTTP only, trying the socket again later.
      this._http = true;
      this._reconnect(this._backoff(this._attempt++));
      this._send();
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      this._open = true;
      this._http = false;
      this._attempt = 0;
      this._beat();
      // A retry waiting after failed HTTP requests need not wait any more.
      this._at('retry');
      this._send();
    };
    ws.onmessage = (m) => {
      try {
        this._frame(JSON.parse(m.data as string) as ServerFrame);
      } catch {}
    };
    // Without a handler Node's `ws` turns a socket error into an uncaught exception; `onclose` follows anyway.
    ws.onerror = () => {};
    ws.onclose = (c) => {
      if (this._ws !== ws) return;
      const opened = this._open;
      this._ws = undefined;
      this._open = false;
      this._beat();
      // Everything sent and not acknowledged goes back to the queue, in order, to be resent with the same ids.
      this._q = this._all();
      this._wait.clear();
      this._n = 0;
      if (!opened) this._http = true;
      this._reconnect(c.code === WS_CLOSE_RESTART && opened ? 0 : this._backoff(this._attempt++));
      this._send();
    };
  }

  /** Heartbeats on (page visible, app in the foreground) or off. */
  setActive(active: boolean): void {
    this._active = active;
    this._beat();
  }

  /** New device (after a reset): reconnect announcing it. */
  setDevice(id: string | undefined): void {
    this.deviceId = id;
    this._drop();
    this.connect();
  }

  /**
   * The page is going away: save the queue, and send what fits in one keepalive request. Those
   * events stay queued and saved: if the request did not make it, the next page load resends
   * them with the same ids; if it did, the server drops the resend.
   */
  unload(): void {
    this._saveNow();
    let bytes = 0;
    const batch = this._all().filter((e) => {
      bytes += e.length;
      return bytes < UNLOAD_BYTES;
    });
    if (batch.length) this._postBatch(batch, true).catch(() => {});
  }

  /** Forgets every queued event (opt-out) and the saved copy. */
  clear(): void {
    this._q = [];
    this._wait.clear();
    this._n = 0;
    this._saveNow();
    this._settle();
  }

  /** Closes the socket and sends nothing more (timers still pending find it stopped); `start()` reconnects. */
  stop(): void {
    this._stopped = true;
    this._saveNow();
    this._drop();
  }

  /** Connects, and stays connected (reconnecting) until `stop()`: the open socket is the visitor's live presence. */
  start(): void {
    this._stopped = false;
    this.connect();
  }

  stats(): TransportStats {
    return { queued: this._size(), dropped: this._dropped, rejected: this._rejected, connected: !!this._open };
  }

  private _size(): number {
    return this._q.length + this._n;
  }

  /** Every unacknowledged event, oldest batches first. */
  private _all(): string[] {
    return [...this._wait.values()].flat().concat(this._q);
  }

  /** Past `maxQueue`, drops the oldest unsent events and counts them. */
  private _trim(): void {
    const over = this._size() - this.o.maxQueue;
    if (over > 0) {
      this._dropped += this._q.splice(0, over).length;
      this.o.log('queue full', this._dropped);
    }
  }

  /**
   * Who is sending, as a query string for `/ws` and `/batch` alike: in the URL rather than
   * headers, so a browser's `/batch` is a CORS "simple" request (no preflight) and works as
   * the keepalive send of a page going away.
   */
  private _who(): string {
    // biome-ignore lint/style/useTemplate: a few bytes less in the gzipped script tag
    return '?' + new URLSearchParams({ clientId: this.o.clientId, deviceId: this.deviceId ?? '', sdk: this.o.sdk, sdkVersion: this.o.sdkVersion });
  }

  private _postBatch(batch: string[], unload: boolean): Promise<PostResult> {
    return this.o.post(`${this.o.apiUrl}/batch${this._who()}`, `{"events":[${batch}]}`, unload);
  }

  /** Closes the socket now, running its close handler at once (not when the close completes). */
  private _drop(): void {
    const ws = this._ws;
    if (ws) {
      ws.onclose!({ code: 1000 });
      ws.close();
    }
  }

  /** (Re)sets the timer `k` to run `fn` in `ms`, or just clears it without `fn`. */
  private _at(k: TimerKey, fn?: () => void, ms = 0): void {
    clearTimeout(this._tm[k] as ReturnType<typeof setTimeout>);
    this._tm[k] = fn
      ? (this.o.timer ?? setTimeout)(() => {
          this._tm[k] = undefined;
          fn();
        }, ms)
      : undefined;
  }

  /** Jittered exponential backoff: 0.5–1 × min(30 s, 1 s × 2^n), n counting failures since the last success. */
  private _backoff(n: number): number {
    const d = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** n);
    return d / 2 + (Math.random() * d) / 2;
  }

  private _reconnect(ms: number): void {
    if (!this._stopped) this._at('conn', () => this.connect(), ms);
  }

  private _beat(): void {
    if (this._active && this._open) this._ws!.send('{"type":"heartbeat"}');
    this._at('beat', this._active && this._open ? () => this._beat() : undefined, HEARTBEAT_MS);
  }

  private _send(): void {
    this._at('flush');
    if (this._stopped || this._tm.retry || !this._q.length) return;
    const ws = this._open && this._ws;
    // No socket yet (connecting, or waiting to reconnect) and no reason to fall back to HTTP: the open sends.
    if (!ws && !this._http) return;
    // Over HTTP one request at a time.
    while (this._q.length && this._wait.size < (ws ? MAX_IN_FLIGHT : 1)) {
      let bytes = 0;
      let k = 0;
      while (k < this._q.length && k < WS_BATCH && bytes < MAX_BATCH_BYTES) bytes += this._q[k++]!.length;
      const batch = this._q.splice(0, k);
      const seq = ++this._seq;
      this._wait.set(seq, batch);
      this._n += k;
      if (ws) ws.send(`{"type":"batch","seq":${seq},"events":[${batch}]}`);
      else
        this._postBatch(batch, false).then(
          // 429 and 5xx are worth retrying; any other answer (200, 400 all-rejected, 401, 413…) is final.
          (r) => this._result(seq, r.answer?.rejected && (r.answer as BatchAnswer), r.status === 429 || r.status > 499, r.retryAfter! * 1000),
          () => this._result(seq, undefined, true),
        );
    }
  }

  private _frame(f: ServerFrame): void {
    if (f.type === 'ack') this._result(f.seq, f);
    else if (f.seq !== undefined) this._result(f.seq, undefined, !FINAL_CODES.test(f.code));
  }

  /**
   * A batch is answered. Retry: its events go back to the front of the queue, to be resent
   * with the same ids after a backoff (or `after` ms). Otherwise they leave the queue, whatever
   * the server made of each (no answer: refused whole).
   */
  private _result(seq: number, a?: BatchAnswer, retry?: boolean, after?: number): void {
    const batch = this._wait.get(seq);
    if (!batch) return;
    this._wait.delete(seq);
    this._n -= batch.length;
    if (retry) {
      this._q.unshift(...batch);
      this._at('retry', () => this._send(), after || this._backoff(this._retries++));
      return;
    }
    this._retries = 0;
    const rejected = a ? a.rejected.length : batch.length;
    if (rejected) {
      this._rejected += rejected;
      this.o.log('rejected', a?.rejected);
    }
    this._save();
    this._settle();
    this._send();
  }

  /** Resolves flush() once nothing is left. */
  private _settle(): void {
    if (!this._size()) for (const r of this._idle.splice(0)) r();
  }

  private _save(): void {
    if (this.o.queue && !this._tm.save) this._at('save', () => this._saveNow(), 100);
  }

  private _saveNow(): void {
    this._at('save');
    this.o.queue?.save(this._all());
  }
}
