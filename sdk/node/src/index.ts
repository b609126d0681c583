/**
 * @livepanel/node: Livepanel for servers. Events go over one acknowledged WebSocket (the `ws`
 * package: Node 20 has no WebSocket client, and the client secret travels as a header, which
 * browser-style WebSocket APIs cannot set), batched, with `POST /batch` when the socket cannot
 * open. Pass the visitor's `__ip` and `__userAgent` to attribute server-side events to them
 * (honoured only with the secret). `await shutdown()` before the process exits.
 */
import { Livepanel, type LivepanelOptions, type Platform, type PostResult } from '@livepanel/core';
import WebSocket from 'ws';

export type { EventBody, IdentifyPayload, Properties, TransportStats } from '@livepanel/core';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export interface NodeOptions extends LivepanelOptions {
  /** The client's secret: server SDKs are authorised by it, not by an Origin. */
  clientSecret: string;
  /** Use the socket (default) or only `POST /batch`. */
  socket?: boolean;
}

function nodePlatform(o: NodeOptions): Platform {
  const headers = { 'openpanel-client-id': o.clientId, 'openpanel-client-secret': o.clientSecret, 'user-agent': `livepanel-node/${VERSION}` };
  return {
    sdk: 'node',
    sdkVersion: VERSION,
    socket:
      o.socket === false
        ? undefined
        : (url) => {
            const ws = new WebSocket(url, { headers });
            // An open connection must not keep a finished script alive: `await shutdown()` is
            // what waits for the last acknowledgements.
            ws.once('open', () => (ws as unknown as { _socket?: { unref(): void } })._socket?.unref());
            return ws as never;
          },
    post: async (url, body): Promise<PostResult> => {
      const r = await fetch(url, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });
      return { status: r.status, answer: (await r.json().catch(() => undefined)) as PostResult['answer'], retryAfter: Number(r.headers.get('retry-after')) };
    },
    device: false,
    // Timers never hold the process open either.
    timer: (fn, ms) => setTimeout(fn, ms).unref(),
  };
}

export class LivepanelNode extends Livepanel {
  constructor(options: NodeOptions) {
    super({ maxQueue: 10_000, ...options }, nodePlatform(options));
  }

  /** Waits (at most `timeoutMs`) until every event tracked so far is acknowledged, then closes the socket. */
  override async shutdown(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.t.stop();
  }
}

/** A Livepanel client for this process (create one and reuse it). */
export function init(options: NodeOptions): LivepanelNode {
  return new LivepanelNode(options);
}
