/**
 * The browser platform: the page's WebSocket (missing or blocked: HTTP only), `fetch` for
 * `POST /batch` with a plain-text body and the client id in the query string (a CORS "simple"
 * request: no preflight, so it also works as the keepalive send of a page going away), and
 * localStorage, which may be full or disabled (private mode): then the SDK keeps working
 * from memory.
 *
 * Each tab saves its unacknowledged queue under its own key; a page that starts takes over
 * every saved queue (its own earlier page's, or a closed tab's). A live tab's queue taken
 * over this way is sent by both tabs with the same ids, and the server keeps one copy.
 */
import { type KeyValue, type Platform, type PostResult, randomId } from '@livepanel/core';

declare const __VERSION__: string;

const QUEUE = 'lp_q';

export const storage: KeyValue = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {}
  },
  set(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch {}
  },
};

function loadQueues(): string[] {
  const out: string[] = [];
  try {
    for (const key of Object.keys(localStorage)) {
      if (!key.startsWith(QUEUE)) continue;
      out.push(...JSON.parse(localStorage.getItem(key)!));
      localStorage.removeItem(key);
    }
  } catch {}
  return out;
}

async function post(url: string, body: string, unload: boolean): Promise<PostResult> {
  const r = await fetch(url, { method: 'POST', body, keepalive: unload });
  return { status: r.status, answer: await r.json().catch(() => {}), retryAfter: +r.headers.get('retry-after')! };
}

export function browserPlatform(): Platform {
  const key = QUEUE + randomId();
  return {
    sdk: 'web',
    sdkVersion: __VERSION__,
    // Throws where WebSocket is missing or blocked: the transport then falls back to HTTP.
    socket: (url) => new WebSocket(url) as never,
    post,
    storage,
    queue: { load: loadQueues, save: (q) => storage.set(key, q.length ? JSON.stringify(q) : null) },
    device: true,
  };
}
