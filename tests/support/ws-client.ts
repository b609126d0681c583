/**
 * A small `/ws` client for the end-to-end tests, on the `ws` package: connects (or reports
 * the HTTP answer to a refused upgrade), queues incoming frames so a test can await them in
 * order, and remembers how the socket closed.
 */
import WebSocket from 'ws';
import type { ServerFrame } from '../../shared/ws-protocol.ts';

export interface Refused {
  status: number;
  contentType: string | undefined;
  /** The answer's headers (not enumerable). */
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert bodies with toEqual/toMatchObject
  body: any;
}

export interface Closed {
  code: number;
  reason: string;
}

export class WsClient {
  private frames: ServerFrame[] = [];
  private waiters: Array<(f: ServerFrame) => void> = [];
  /** Resolves when the socket closes. */
  readonly closed: Promise<Closed>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      const w = this.waiters.shift();
      if (w) w(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** The next frame from the server (rejects after `timeoutMs`). */
  next(timeoutMs = 10_000): Promise<ServerFrame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (f: ServerFrame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push(waiter);
    });
  }

  /** Frames received and not yet taken. */
  pending(): ServerFrame[] {
    return [...this.frames];
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends a batch and waits for the frame answering it (the next one). */
  async batch(seq: number, events: unknown[]): Promise<ServerFrame> {
    this.send({ type: 'batch', seq, events });
    return this.next();
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): Promise<Closed> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
    return this.closed;
  }
}

/** Opens `/ws` on `baseUrl` (http://…); resolves with a client, or with the refusal's status and body. */
export function connectWs(baseUrl: string, query: Record<string, string>, headers: Record<string, string> = {}): Promise<WsClient | Refused> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/ws${Object.keys(query).length ? `?${new URLSearchParams(query)}` : ''}`;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        const refused = { status: res.statusCode ?? 0, contentType: res.headers['content-type'], body } as Refused;
        // Not enumerable: tests compare refusals with toEqual({status, contentType, body}).
        Object.defineProperty(refused, 'headers', { value: res.headers, enumerable: false });
        resolve(refused);
      });
    });
    socket.on('open', () => resolve(new WsClient(socket)));
    socket.on('error', (err) => reject(err));
  });
}

/** Like connectWs, but fails the test when the upgrade is refused. */
export async function openWs(baseUrl: string, query: Record<string, string>, headers: Record<string, string> = {}): Promise<WsClient> {
  const r = await connectWs(baseUrl, query, headers);
  if (!(r instanceof WsClient)) throw new Error(`upgrade refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}
