/**
 * Small helpers for uWebSockets.js HTTP handlers: read a size-limited body, snapshot the
 * request (uWS requests die at the first await), answer JSON, and turn thrown errors into
 * responses in one place. Only `*.uws.ts` files and this module touch uWS objects.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** What a handler may still read after its first await. */
export interface RequestSnapshot {
  method: string;
  url: string;
  query: string;
  headers: Record<string, string>;
  /** The TCP peer's address; '' when the route reads it itself (`handle`'s `peer: false`, `peerAddress`). */
  remoteIp: string;
  /** Route parameters (`:name` segments) in order. */
  params: string[];
}

const decoder = new TextDecoder();
const NO_PARAMS = Object.freeze([]) as unknown as string[];
const NO_HEADERS: Record<string, string> = {};
let copyInto = NO_HEADERS;
let copyOnly: ReadonlySet<string> | undefined;
const copyHeader = (k: string, v: string) => {
  if (!copyOnly || copyOnly.has(k)) copyInto[k] = v;
};

/**
 * Copies what a handler needs from `req`. `headerNames` (lower case, a set made once): only
 * those headers (a hot route that knows what it reads, such as `/track`); otherwise all of them.
 * A header sent on several lines keeps its last line either way. Not `req.getHeader`: it
 * answers the first line, and a proxy that adds its own X-Forwarded-For line puts it after
 * any the client sent (HAProxy does), so the client would name its own address.
 */
export function snapshot(res: HttpResponse, req: HttpRequest, paramCount = 0, headerNames?: ReadonlySet<string>, peer = true): RequestSnapshot {
  const headers: Record<string, string> = {};
  // One callback made once, not a closure per request: uWS calls it synchronously, so the
  // target can sit in module variables for the duration of `forEach`.
  copyInto = headers;
  copyOnly = headerNames;
  req.forEach(copyHeader);
  copyInto = NO_HEADERS;
  return {
    method: req.getMethod(),
    url: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    remoteIp: peer ? peerAddress(res) : '',
    params: paramCount === 0 ? NO_PARAMS : Array.from({ length: paramCount }, (_, i) => req.getParameter(i)),
  };
}

/**
 * The TCP peer's address. uWS answers it in a new ArrayBuffer (≈ 2 µs a read, measured on a bare
 * uWS server); read it only while `res` may be read — in a handler, before its first await.
 */
export function peerAddress(res: HttpResponse): string {
  return decoder.decode(res.getRemoteAddressAsText());
}

/**
 * Marks the response aborted-aware; handlers check `res.aborted` before writing. uWS keeps one
 * abort handler per response, so a body being read (`readBody`, `readText`) hooks in through
 * `res.onBodyAborted`: a client that leaves mid-body must not leave its request pending forever
 * (a drain waits for every request in flight).
 */
export function trackAbort(res: HttpResponse): void {
  res.aborted = false;
  res.onAborted(() => {
    res.aborted = true;
    res.onBodyAborted?.();
  });
}

/** The refusal of a body whose client went away before sending all of it (never sent: nobody is left to read it). */
const bodyAborted = () => new AppError(400, 'invalid_body', 'The client went away before sending the whole body');

const tooLarge = (maxBytes: number) => new AppError(413, 'payload_too_large', `Body larger than ${maxBytes} bytes`);

/**
 * Receives a body in uWS's chunks, refusing (413 `payload_too_large`) once it passes `maxBytes`
 * — the connection is then closed, so an oversized upload is not read to its end — and (400
 * `invalid_body`) when the client goes away first. `done` gets the last chunk, still uWS's own
 * memory (valid only during the call), and copies of the earlier ones.
 */
function receive<T>(
  res: HttpResponse,
  maxBytes: number,
  declaredLength: string | undefined,
  done: (last: ArrayBuffer, earlier: Buffer[], size: number) => T,
): Promise<T> {
  return new Promise((resolve, reject) => {
    if (declaredLength && Number(declaredLength) > maxBytes) {
      reject(tooLarge(maxBytes));
      return;
    }
    const earlier: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onBodyAborted = () => reject(bodyAborted());
    res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        failed = true;
        reject(tooLarge(maxBytes));
        return;
      }
      if (isLast) resolve(done(chunk, earlier, size));
      // uWS neuters the chunk after this callback: keep a copy (ArrayBuffer.slice copies).
      else earlier.push(Buffer.from(chunk.slice(0)));
    });
  });
}

/** Reads the whole body into one Buffer (copied once out of uWS's chunks). */
export function readBody(res: HttpResponse, maxBytes: number, declaredLength?: string): Promise<Buffer> {
  return receive(res, maxBytes, declaredLength, wholeBuffer);
}

function wholeBuffer(last: ArrayBuffer, earlier: Buffer[], size: number): Buffer {
  return earlier.length === 0 ? Buffer.from(last.slice(0)) : Buffer.concat([...earlier, Buffer.from(last)], size);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body read as text: its size in bytes and its UTF-8 text (null when it is not valid UTF-8). */
export interface BodyText {
  bytes: number;
  text: string | null;
}

function decodeUtf8(bytes: ArrayBuffer | Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * `readBody` for a body that is going to be parsed as JSON: a body that arrives in one chunk
 * (almost every ingest request) is decoded straight from uWS's buffer, without copying its
 * bytes into a Buffer first. Same limits and refusals as `readBody`.
 */
export function readText(res: HttpResponse, maxBytes: number, declaredLength?: string): Promise<BodyText> {
  return receive(res, maxBytes, declaredLength, wholeText);
}

function wholeText(last: ArrayBuffer, earlier: Buffer[], size: number): BodyText {
  return { bytes: size, text: decodeUtf8(earlier.length === 0 ? last : Buffer.concat([...earlier, Buffer.from(last)], size)) };
}

/** Parses a body read by `readText`, distinguishing invalid UTF-8 from invalid JSON (as `parseJson`). */
export function parseJsonText(body: BodyText): unknown {
  if (body.text === null) throw new AppError(400, 'invalid_utf8', 'Body is not valid UTF-8');
  try {
    return JSON.parse(body.text);
  } catch {
    throw new AppError(400, 'invalid_json', 'Body is not valid JSON');
  }
}

/** Parses a JSON body, distinguishing invalid UTF-8 from invalid JSON. */
export function parseJson(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new AppError(400, 'invalid_utf8', 'Body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError(400, 'invalid_json', 'Body is not valid JSON');
  }
}

const STATUS: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  204: '204 No Content',
  304: '304 Not Modified',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  410: '410 Gone',
  413: '413 Payload Too Large',
  422: '422 Unprocessable Entity',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};
export const statusLine = (status: number) => STATUS[status] ?? `${status} Status`;

/**
 * Writes a complete response (corked; a no-op when the client went away). `close` ends the
 * connection after it (refused upgrades: a refused client must not keep the descriptor).
 */
export function send(
  res: HttpResponse,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = NONE,
  contentType = 'application/json',
  close = false,
): void {
  if (res.aborted) return;
  res.aborted = true; // one response only
  // The response goes to `writeResponse` through module variables, not a closure made per
  // response: uWS runs the cork's callback synchronously, and nothing in it sends another.
  out.res = res;
  out.status = status;
  out.body = body;
  out.headers = headers;
  out.contentType = contentType;
  out.close = close;
  try {
    res.cork(writeResponse);
  } finally {
    out.res = undefined;
    out.headers = NONE;
    out.body = '';
  }
}

const NONE: Readonly<Record<string, string>> = Object.freeze({});

/** The response `send` is writing (set for the duration of its cork). */
const out: { res: HttpResponse | undefined; status: number; body: string; headers: Readonly<Record<string, string>>; contentType: string; close: boolean } = {
  res: undefined,
  status: 200,
  body: '',
  headers: NONE,
  contentType: '',
  close: false,
};

function writeResponse(): void {
  const { res, body, headers } = out;
  if (!res) return;
  res.writeStatus(statusLine(out.status));
  if (body) res.writeHeader('content-type', out.contentType);
  for (const k in headers) res.writeHeader(k, headers[k]!);
  res.end(body, out.close);
}

export function sendJson(res: HttpResponse, status: number, body: unknown, headers?: Record<string, string>, close = false): void {
  send(res, status, JSON.stringify(body), headers, 'application/json', close);
}

/** The one place an error becomes a response: AppError → its status and code, anything else → 500 `internal`. */
export function sendError(res: HttpResponse, err: unknown, log: Logger, headers?: Record<string, string>, close = false): void {
  if (err instanceof AppError) {
    const retry = err.retryAfterMs !== undefined ? { 'retry-after': String(Math.ceil(err.retryAfterMs / 1000)) } : undefined;
    sendJson(res, err.status, err.toBody(), retry ? { ...headers, ...retry } : headers, close);
    return;
  }
  log.error({ err }, 'unhandled error in request');
  sendJson(res, 500, { error: { code: 'internal', message: 'Internal error; safe to retry' } }, headers, close);
}

/** Runs an async handler with abort tracking and central error handling. */
export function handle(
  log: Logger,
  fn: (res: HttpResponse, req: RequestSnapshot) => Promise<void>,
  opts: {
    params?: number;
    headers?: (req: RequestSnapshot) => Record<string, string>;
    headerNames?: ReadonlySet<string>;
    /** False: `remoteIp` is left empty; `fn` reads `peerAddress(res)` itself, before its first await, if it needs it. */
    peer?: boolean;
  } = {},
) {
  return (res: HttpResponse, req: HttpRequest) => {
    trackAbort(res);
    const snap = snapshot(res, req, opts.params, opts.headerNames, opts.peer ?? true);
    const extraHeaders = opts.headers;
    fn(res, snap).catch((err) => sendError(res, err, log, extraHeaders?.(snap)));
  };
}
