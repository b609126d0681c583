/**
 * HTTP ingest on the uWS app: `POST /track` (wire-compatible with OpenPanel's SDKs),
 * `POST /batch` (many events with client ids), and their CORS preflights. Thin: bytes in,
 * `ingest.accept`, status code out. Answers follow what the OpenPanel SDK's retry logic
 * expects: 200 JSON on success, 202 for bots, 401 (never retried) on auth failures.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { BatchBody } from '../../shared/track.ts';
import type { Authenticator, Credentials } from '../auth/clients.ts';
import { AppError, zodIssues } from '../errors.ts';
import { handle, parseJsonText, peerAddress, type RequestSnapshot, readText, sendJson } from '../http/uws.ts';
import { assertAllowed, type Limits } from '../limits/limits.ts';
import type { Logger } from '../log.ts';
import { type ClientIpOptions, clientIp } from './client-ip.ts';
import type { Ingest, IngestItem } from './ingest.ts';
import { checkJson } from './json-bounds.ts';
import type { Caller, RequestInfo } from './types.ts';

export interface HttpIngestDeps {
  ingest: Ingest;
  auth: Authenticator;
  log: Logger;
  ip: ClientIpOptions;
  maxBodyBytes: number;
  /** Largest single event, as JSON (MAX_EVENT_BYTES); default DEFAULT_MAX_EVENT_BYTES. */
  maxEventBytes?: number;
  /** False while starting or draining: answer 503 so clients retry elsewhere. */
  accepting: () => boolean;
  limits: Limits;
}

/** MAX_EVENT_BYTES's default: the largest single event, as JSON. */
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024;

const ALLOW_HEADERS = 'content-type, openpanel-client-id, openpanel-client-secret, openpanel-sdk-name, openpanel-sdk-version';

// Retry-After is exposed so a page's SDK can honour a 429.
const ANY_ORIGIN: Readonly<Record<string, string>> = Object.freeze({ 'access-control-allow-origin': '*', 'access-control-expose-headers': 'retry-after' });
/** CORS headers per origin, made once: a site's SDK sends the same few origins over and over. */
const byOrigin = new Map<string, Readonly<Record<string, string>>>();
const MAX_CACHED_ORIGINS = 1000;

export function corsHeaders(req: RequestSnapshot): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return ANY_ORIGIN;
  let h = byOrigin.get(origin);
  if (!h) {
    // Origins are client-chosen: a bounded cache, emptied when full (rebuilding one is cheap).
    if (byOrigin.size >= MAX_CACHED_ORIGINS) byOrigin.clear();
    h = Object.freeze({ 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': 'retry-after' });
    byOrigin.set(origin, h);
  }
  return h;
}

/**
 * The CORS preflight answer, the same for every preflight with this origin and requested
 * headers: written straight from the request, no snapshot, no allocation per request.
 */
function preflight(res: HttpResponse, req: HttpRequest): void {
  const origin = req.getHeader('origin');
  const asked = req.getHeader('access-control-request-headers');
  res.cork(() => {
    res.writeStatus('204 No Content');
    res.writeHeader('access-control-allow-origin', origin || '*');
    res.writeHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.writeHeader('access-control-allow-headers', asked || ALLOW_HEADERS);
    res.writeHeader('access-control-max-age', '86400');
    if (origin) res.writeHeader('vary', 'Origin');
    res.endWithoutBody();
  });
}

/**
 * The request headers the ingest routes read (the client id and secret, the SDK, the client's
 * address and agent, CORS): only these are copied per request, not all the client sent.
 */
export function ingestHeaderNames(ip: ClientIpOptions): ReadonlySet<string> {
  const names = [
    'content-length',
    'origin',
    'user-agent',
    'openpanel-client-id',
    'openpanel-client-secret',
    'openpanel-sdk-name',
    'openpanel-sdk-version',
    'x-forwarded-for',
  ];
  if (ip.ipHeader) names.push(ip.ipHeader);
  return new Set(names);
}

/** What a 429 on events says ran out: the visitor address's budget, or the server client's. */
export function eventsFrom(caller: Caller): string {
  return caller.viaSecret ? 'events for this client' : 'events from this address';
}

/**
 * The 503 while starting or draining. The body being read is not awaited then, so its own
 * refusal (a 413) is marked handled here: left unhandled it would be fatal (server/main.ts).
 */
function notAccepting(body: Promise<unknown>): never {
  body.catch(() => {});
  throw new AppError(503, 'not_ready', 'Not accepting events right now; retry');
}

export function registerHttpIngest(app: TemplatedApp, deps: HttpIngestDeps) {
  const maxEventBytes = deps.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  // The routes read the TCP peer themselves, and only when the proxy headers do not name the
  // client (clientIp): behind a hop-count proxy it is never read.
  const route = { headers: corsHeaders, headerNames: ingestHeaderNames(deps.ip), peer: false };
  // Requests being answered, so a drain can wait for them (their events must reach the live
  // channel and the queue before those close). Each route counts its own in a try/finally: a
  // wrapper would cost every request another promise.
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const answered = () => {
    if (--inFlight === 0) idle?.();
  };
  app.options('/track', preflight);
  app.options('/batch', preflight);

  app.post(
    '/track',
    handle(
      deps.log,
      async (res, req) => {
        inFlight++;
        try {
          // The client's address now, while `res` may still be read (before the first await).
          const ip = clientIp(() => peerAddress(res), req.headers, deps.ip);
          const raw = readText(res, deps.maxBodyBytes, req.headers['content-length']);
          const cors = corsHeaders(req);
          if (!deps.accepting()) notAccepting(raw);
          const text = await raw;
          if (text.bytes > maxEventBytes) throw new AppError(413, 'payload_too_large', `Event larger than ${maxEventBytes} bytes`);
          const body = parseJsonText(text) as Record<string, unknown> | null;
          const request = requestInfo(req, ip);
          const creds = credentials(req, body);
          // A cached client and known rate rules answer without a promise (most requests).
          const known = deps.limits.authBlocked(request.ip).allowed ? deps.auth.forIngestCached(creds) : undefined;
          const caller = known ?? (await deps.limits.authenticate(request.ip, () => deps.auth.forIngest(creds)));
          assertAllowed(deps.limits.eventsNow(caller, request.ip, 1) ?? (await deps.limits.events(caller, request.ip, 1)), eventsFrom(caller));
          const [result] = await deps.ingest.accept(caller, request, [{ body }], 'track');
          if (!result) throw new AppError(500, 'internal', 'No result');
          if (result.status === 'accepted') sendJson(res, 200, { deviceId: result.deviceId, sessionId: result.sessionId }, cors);
          else if (result.status === 'dropped') sendJson(res, 202, { dropped: result.reason }, cors);
          else sendJson(res, 400, { error: { code: result.code, message: result.message, issues: result.issues } }, cors);
        } finally {
          answered();
        }
      },
      route,
    ),
  );

  app.post(
    '/batch',
    handle(
      deps.log,
      async (res, req) => {
        inFlight++;
        try {
          // The client's address now, while `res` may still be read (before the first await).
          const ip = clientIp(() => peerAddress(res), req.headers, deps.ip);
          const raw = readText(res, deps.maxBodyBytes, req.headers['content-length']);
          const cors = corsHeaders(req);
          if (!deps.accepting()) notAccepting(raw);
          const text = await raw;
          const json = parseJsonText(text) as Record<string, unknown> | null;
          const parsed = BatchBody.safeParse(json);
          if (!parsed.success) throw new AppError(400, 'invalid_body', 'Expected {"events":[…]} with 1 to 1000 events', zodIssues(parsed.error));
          // Livepanel's SDKs say who they are in the query string, as on /ws: a browser's request
          // then needs no custom header (no CORS preflight) and works as a page-unload keepalive.
          const query = new URLSearchParams(req.query);
          const request = withSdkQuery(requestInfo(req, ip), query);
          const caller = await deps.limits.authenticate(request.ip, () => deps.auth.forIngest(credentials(req, json, query)));
          const { items, invalid } = toItems(parsed.data.events, { bytes: text.bytes, maxEventBytes });
          assertAllowed(await deps.limits.events(caller, request.ip, items.length), eventsFrom(caller));
          const results = await deps.ingest.accept(
            caller,
            request,
            items.map((x) => x.item),
            'batch',
          );
          const out = summarize(
            results,
            items.map((x) => x.index),
            invalid,
          );
          const status = out.accepted === 0 && out.rejected.length > 0 && out.dropped.length === 0 ? 400 : 200;
          sendJson(res, status, out, cors);
        } finally {
          answered();
        }
      },
      route,
    ),
  );

  return {
    /** Resolves once every request already received has been answered. */
    drain(): Promise<void> {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => {
        idle = resolve;
      });
    },
  };
}

function credentials(req: RequestSnapshot, body: Record<string, unknown> | null, query?: URLSearchParams): Credentials {
  return {
    clientId: req.headers['openpanel-client-id'] || stringIn(body, 'clientId') || query?.get('clientId') || undefined,
    secret: req.headers['openpanel-client-secret'] || stringIn(body, 'clientSecret'),
    origin: req.headers.origin,
  };
}

const stringIn = (body: Record<string, unknown> | null, k: string) => (body && typeof body[k] === 'string' ? (body[k] as string) : undefined);

/** `sdk`, `sdkVersion` and `deviceId` (≤ 64 characters) from a `/ws` or `/batch` query string. */
export function withSdkQuery(request: RequestInfo, q: URLSearchParams): RequestInfo {
  request.sdkName = q.get('sdk') || request.sdkName;
  request.sdkVersion = q.get('sdkVersion') || request.sdkVersion;
  const deviceId = q.get('deviceId');
  if (deviceId && deviceId.length <= 64) request.deviceId = deviceId;
  return request;
}

/** What the pipeline reads of a request, with the client's address as `clientIp` found it. */
export function requestInfo(req: RequestSnapshot, ip: string): RequestInfo {
  return {
    ip,
    userAgent: req.headers['user-agent'] ?? '',
    origin: req.headers.origin ?? '',
    sdkName: req.headers['openpanel-sdk-name'] ?? '',
    sdkVersion: req.headers['openpanel-sdk-version'] ?? '',
    receivedAt: Date.now(),
  };
}

type Rejected = { index: number; id?: string; code: 'invalid_event' | 'payload_too_large' | 'too_deep'; message: string };

/**
 * Deepest nesting of one raw event (envelope included) the size check walks through. Looser
 * than the properties' own limit (PROPERTY_LIMITS.maxDepth, checked with a precise message by
 * the normalize step): this one only bounds the walk.
 */
export const MAX_EVENT_DEPTH = 32;

/**
 * Splits raw batch elements into ingest items, rejecting those whose client id is malformed
 * and those larger than `maxEventBytes` as JSON. Sizes are measured only when the whole batch
 * (`bytes`) is larger than one event may be: the usual batch costs nothing extra. The
 * measuring walk is iterative and bounded (json-bounds.ts): `JSON.stringify` would overflow
 * the stack on an event nested thousands of levels deep.
 */
export function toItems(
  events: unknown[],
  limit: { bytes: number; maxEventBytes: number },
): { items: Array<{ index: number; item: IngestItem }>; invalid: Rejected[] } {
  const items: Array<{ index: number; item: IngestItem }> = [];
  const invalid: Rejected[] = [];
  const measure = limit.bytes > limit.maxEventBytes;
  events.forEach((e, index) => {
    const id = e && typeof e === 'object' ? (e as { id?: unknown }).id : undefined;
    if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 64)) {
      invalid.push({ index, code: 'invalid_event', message: 'Event id must be a string of 1 to 64 characters' });
      return;
    }
    if (measure) {
      const verdict = checkJson(e, { maxBytes: limit.maxEventBytes, maxDepth: MAX_EVENT_DEPTH });
      if (!verdict.ok) {
        const message = verdict.code === 'too_deep' ? `Event nests deeper than ${MAX_EVENT_DEPTH} levels` : `Event larger than ${limit.maxEventBytes} bytes`;
        invalid.push({ index, code: verdict.code, message });
        return;
      }
    }
    items.push({ index, item: { body: e, clientEventId: id as string | undefined } });
  });
  return { items, invalid };
}

/** Per-batch answer shared by `/batch` and the `/ws` ack: accepted count, rejections and drops by index. */
export function summarize(results: Awaited<ReturnType<Ingest['accept']>>, indexes: number[], invalid: Rejected[]) {
  const rejected: Array<{ index: number; code: string; message: string }> = [...invalid];
  const dropped: Array<{ index: number; reason: string }> = [];
  let accepted = 0;
  results.forEach((r, k) => {
    const index = indexes[k]!;
    if (r.status === 'accepted') accepted++;
    else if (r.status === 'dropped') dropped.push({ index, reason: r.reason });
    else rejected.push({ index, code: r.code, message: r.message });
  });
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, rejected, dropped };
}
