/**
 * The bridge between uWebSockets.js and Web-standard handlers (`Request` → `Response`): the
 * dashboard's SvelteKit server and the dashboard API's Hono router both run behind it. The
 * uWS request becomes a `Request` (body read up to a limit, aborted when the client leaves);
 * the `Response` is streamed back with backpressure, in one corked write when it fits.
 */
import type { HttpResponse } from 'uWebSockets.js';
import { STATUS_CODES } from 'node:http';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type RequestSnapshot, readBody, send, sendError } from './uws.ts';

export interface FetchOptions {
  log: Logger;
  /** Origin the handler believes it is served at (default `http://` + the request's Host). */
  publicUrl?: string;
  /** Largest request body read (bodies are only read for methods that carry one). */
  maxBodyBytes?: number;
}

/** A Web handler; `remoteIp` is the TCP peer (trusted-proxy rules are the handler's business). */
export type FetchHandler = (request: Request, remoteIp: string) => Promise<Response>;

/** Response headers a handler may set that uWS writes itself (or that must not pass through). */
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'set-cookie']);
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Answers one uWS request with `handler`. Call it synchronously from the uWS route handler,
 * with a snapshot taken there (uWS request objects die at the first await).
 */
export function serveFetch(res: HttpResponse, snap: RequestSnapshot, handler: FetchHandler, opts: FetchOptions): void {
  const log = opts.log;
  const aborted = new AbortController();
  let wake: (() => void) | undefined; // a write waiting for the socket to drain
  res.aborted = false;
  res.onAborted(() => {
    res.aborted = true;
    aborted.abort();
    if (wake) setImmediate(wake); // see onWritable below
  });
  const method = snap.method.toUpperCase();
  const body = BODYLESS.has(method) ? undefined : readBody(res, opts.maxBodyBytes ?? 64 * 1024, snap.headers['content-length']);
  body?.catch(() => {}); // answered below; never an unhandled rejection when the client leaves first

  let started = false; // status line written
  const stream = async () => {
    let request: Request;
    const bytes = body ? await body : undefined;
    try {
      const origin = opts.publicUrl?.replace(/\/+$/, '') ?? `http://${snap.headers.host || 'localhost'}`;
      const url = new URL(`${snap.url}${snap.query ? `?${snap.query}` : ''}`, origin);
      request = new Request(url, {
        method,
        headers: snap.headers,
        body: bytes && bytes.byteLength > 0 ? new Uint8Array(bytes) : undefined,
        signal: aborted.signal,
      });
    } catch {
      throw new AppError(400, 'invalid_body', 'Unreadable request URL or headers');
    }
    const response = await handler(request, snap.remoteIp);
    const head = method === 'HEAD';
    const writeHead = () => {
      started = true;
      res.writeStatus(statusText(response.status));
      response.headers.forEach((v, k) => {
        if (!HOP_HEADERS.has(k)) res.writeHeader(k, v);
      });
      for (const cookie of response.headers.getSetCookie()) res.writeHeader('set-cookie', cookie);
    };
    const reader = response.body?.getReader();
    if (!reader || head || res.aborted) {
      await reader?.cancel();
      if (!res.aborted) {
        res.cork(() => {
          writeHead();
          res.endWithoutBody();
        });
      }
      return;
    }
    try {
      // A response made in one piece (the usual case) goes out in one corked write with its length.
      const first = await reader.read();
      const second = first.done ? first : await reader.read();
      if (res.aborted) return;
      if (second.done) {
        res.cork(() => {
          writeHead();
          res.end(first.done ? '' : first.value);
        });
        return;
      }
      let ok = true;
      res.cork(() => {
        writeHead();
        ok = res.write(first.value!);
        ok = res.write(second.value) && ok;
      });
      for (;;) {
        if (!ok) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // uWS calls this from native code without running JavaScript's microtasks afterwards:
            // resolving here directly would leave the loop asleep until some other event came.
            res.onWritable(() => {
              setImmediate(resolve);
              return true;
            });
          });
        }
        if (res.aborted) return;
        const next = await reader.read();
        if (res.aborted) return;
        if (next.done) {
          res.cork(() => res.end());
          return;
        }
        res.cork(() => {
          ok = res.write(next.value);
        });
      }
    } finally {
      if (res.aborted) await reader.cancel().catch(() => {});
    }
  };

  stream().catch((err) => {
    if (aborted.signal.aborted || res.aborted) return; // the client left; nothing to answer
    if (started) {
      // Failing mid-stream, the status is already out: cut the connection so the body is not taken as whole.
      log.error({ err, url: snap.url }, 'response stream failed');
      res.close();
    } else if (err instanceof AppError) {
      sendError(res, err, log);
    } else {
      log.error({ err, url: snap.url }, 'request handler failed');
      send(res, 500, JSON.stringify({ error: { code: 'internal', message: 'Internal error; safe to retry' } }));
    }
  });
}

export function statusText(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
}
