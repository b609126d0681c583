/**
 * The SDK socket, `GET /ws` (protocol in shared/ws-protocol.ts). Authenticates on upgrade,
 * then takes `batch` frames and answers each with an `ack` once its accepted events are
 * durable, or an `error` frame the client answers by resending. A `heartbeat` (or any batch)
 * keeps the device's session open while the socket lives. On drain, sockets are closed with
 * 1012 after their in-flight batches are acknowledged, so SDKs reconnect elsewhere.
 */
import uWS, { type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import type { Revocation } from '../../shared/auth.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { ClientFrame, type ServerFrame, WS_CLOSE_RESTART, WS_CLOSE_REVOKED, WS_MAX_IN_FLIGHT, WS_PATH } from '../../shared/ws-protocol.ts';
import type { Authenticator } from '../auth/clients.ts';
import type { SessionStore } from '../engines/sessions.ts';
import { AppError, zodIssues } from '../errors.ts';
import { sendError, snapshot, trackAbort } from '../http/uws.ts';
import type { Verdict } from '../limits/gate.ts';
import { assertAllowed, type Limits } from '../limits/limits.ts';
import type { Admission, SocketCaps } from '../limits/socket-caps.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { type ClientIpOptions, clientIp } from './client-ip.ts';
import { fastClientFrame } from './edge-parse.ts';
import { DEFAULT_MAX_EVENT_BYTES, eventsFrom, requestInfo, summarize, toItems } from './http.uws.ts';
import type { Ingest } from './ingest.ts';
import type { Caller, RequestInfo } from './types.ts';

interface SocketData {
  caller: Caller;
  request: RequestInfo;
  /** This socket's frame budget (null: unlimited). */
  frames: { take(): Verdict } | null;
  inFlight: number;
  closed: boolean;
  /** What the socket caps counted for it (released when it closes). */
  capped: { ip: string; clientId: string };
  /** Device of the latest accepted event, for session keep-alive. */
  deviceId?: string;
  /** The device this socket is counted for in live presence (onDeviceSockets). */
  presenceDevice?: string;
  idle?: () => void;
}

export interface WsIngestDeps {
  ingest: Ingest;
  auth: Authenticator;
  sessions: SessionStore;
  log: Logger;
  metrics?: Metrics;
  ip: ClientIpOptions;
  maxPayloadBytes: number;
  /** Largest single event, as JSON (MAX_EVENT_BYTES); default DEFAULT_MAX_EVENT_BYTES. */
  maxEventBytes?: number;
  /** How long past its last heartbeat a socket keeps its session open. */
  keepAliveMs: number;
  accepting: () => boolean;
  limits: Limits;
  /** Caps on open sockets per IP, per client and on this node. */
  caps: SocketCaps;
  /** Revocations on every node (the auth module relays the bus): a revoked client's sockets close here. */
  onRevoked?: (fn: (r: Revocation) => void) => () => void;
  /**
   * Whether a client is still enabled, read from the database (not a cache): every
   * `recheckMs` the clients of open sockets are checked again, so a revocation this node
   * missed (it was cut off from Redis when it was published) still closes their sockets.
   */
  clientValid?: (clientId: string) => Promise<boolean>;
  /** How often `clientValid` runs over the open sockets' clients (default 30 s). */
  recheckMs?: number;
  /** Called after each open and close with this node's open SDK sockets for that project (live presence). */
  onSocketsChanged?: (projectId: string, count: number) => void;
  /** This node holds `delta` more (or fewer) open SDK sockets of `deviceId` (live presence counts devices, not tabs). */
  onDeviceSockets?: (projectId: string, deviceId: string, delta: 1 | -1) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Close code for a frame over the size limit (RFC 6455 "message too big"): split the batch, do not resend it whole. */
const WS_CLOSE_TOO_BIG = 1009;
/**
 * uWS's own frame limit, as a multiple of ours. Past its limit uWS drops the connection
 * without a close frame (the client sees 1006, indistinguishable from a network failure, and
 * an SDK would resend the same batch forever), so it is set above ours and our check, which
 * can answer 1009, sees the oversized frames first.
 */
const UWS_LIMIT_FACTOR = 2;

export function registerWsIngest(app: TemplatedApp, deps: WsIngestDeps) {
  const maxEventBytes = deps.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const sockets = new Set<WebSocket<SocketData>>();
  /** Open sockets by client id, for revocation. */
  const byClient = new Map<string, Set<WebSocket<SocketData>>>();

  /** Closes every socket of a revoked (disabled) client: an error frame saying why, then 4401. */
  function closeClient(clientId: string): void {
    const own = [...(byClient.get(clientId) ?? [])];
    if (own.length === 0) return;
    for (const ws of own) {
      const data = ws.getUserData();
      if (data.closed) continue;
      sendFrame(ws, { type: 'error', code: 'client_disabled', message: 'This client was disabled; the socket is closed' });
      ws.end(WS_CLOSE_REVOKED, 'client_disabled'); // runs close() at once, which unregisters it
    }
    deps.metrics?.revokedSockets.inc(own.length);
    deps.log.info({ clientId, sockets: own.length }, 'closed the sockets of a disabled client');
  }
  const stopRevocations = deps.onRevoked?.((r) => {
    if (r.kind === 'client') closeClient(r.id.toLowerCase());
  });
  let rechecking = false;
  const recheck = deps.clientValid
    ? setInterval(async () => {
        if (rechecking) return;
        rechecking = true;
        try {
          for (const clientId of [...byClient.keys()]) {
            if (!(await deps.clientValid!(clientId).catch(() => true))) closeClient(clientId);
          }
        } finally {
          rechecking = false;
        }
      }, deps.recheckMs ?? 30_000).unref()
    : undefined;
  const perProject = new Map<string, number>();

  function countSocket(projectId: string, delta: 1 | -1) {
    const n = (perProject.get(projectId) ?? 0) + delta;
    if (n > 0) perProject.set(projectId, n);
    else perProject.delete(projectId);
    deps.onSocketsChanged?.(projectId, Math.max(0, n));
  }

  /** Counts the socket for `device` in presence (moving it off the one it was counted for). */
  function countDevice(data: SocketData, device: string | undefined) {
    if (data.closed || device === data.presenceDevice || !deps.onDeviceSockets) return;
    if (data.presenceDevice) deps.onDeviceSockets(data.caller.projectId, data.presenceDevice, -1);
    data.presenceDevice = device;
    if (device) deps.onDeviceSockets(data.caller.projectId, device, 1);
  }

  function sendFrame(ws: WebSocket<SocketData>, frame: ServerFrame) {
    const data = ws.getUserData();
    if (data.closed) return;
    // Past maxBackpressure uWS closes the socket (closeOnBackpressureLimit); the SDK resends unacked batches.
    ws.cork(() => ws.send(JSON.stringify(frame)));
  }

  function keepAlive(data: SocketData) {
    const device = data.deviceId ?? data.request.deviceId;
    if (!device) return;
    deps.sessions.keepAlive(data.caller.projectId, device, Date.now() + deps.keepAliveMs).catch((err) => deps.log.warn({ err }, 'keepAlive failed'));
  }

  async function onBatch(ws: WebSocket<SocketData>, seq: number, events: unknown[], bytes: number) {
    const data = ws.getUserData();
    const started = performance.now();
    try {
      const { items, invalid } = toItems(events, { bytes, maxEventBytes });
      const request = { ...data.request, receivedAt: Date.now() };
      const allowed = await deps.limits.events(data.caller, request.ip, items.length);
      if (!allowed.allowed) {
        sendFrame(ws, {
          type: 'error',
          seq,
          code: 'rate_limited',
          message: `Too many ${eventsFrom(data.caller)}; resend later`,
          retryAfterMs: allowed.retryAfterMs,
        });
        return;
      }
      const results = await deps.ingest.accept(
        data.caller,
        request,
        items.map((x) => x.item),
        'ws',
      );
      const last = results.findLast((r) => r.status === 'accepted');
      if (last?.status === 'accepted' && last.deviceId) {
        data.deviceId = last.deviceId;
        countDevice(data, last.deviceId);
      }
      const s = summarize(
        results,
        items.map((x) => x.index),
        invalid,
      );
      sendFrame(ws, { type: 'ack', seq, accepted: s.accepted, rejected: s.rejected as never, dropped: s.dropped as never });
      deps.metrics?.ackSeconds.observe({ transport: 'ws' }, (performance.now() - started) / 1000);
    } catch (err) {
      const code: ErrorCode = err instanceof AppError ? err.code : 'internal';
      if (!(err instanceof AppError)) deps.log.error({ err }, 'ws batch failed');
      sendFrame(ws, { type: 'error', seq, code, message: err instanceof AppError ? err.message : 'Internal error; resend the batch' });
    }
  }

  function onMessage(ws: WebSocket<SocketData>, message: ArrayBuffer) {
    const data = ws.getUserData();
    const budget = data.frames?.take();
    if (budget && !budget.allowed) {
      // Read nothing of an over-budget frame; a batch is answered by seq so the SDK resends it.
      sendFrame(ws, {
        type: 'error',
        seq: peekSeq(message),
        code: 'rate_limited',
        message: 'Too many frames on this socket; slow down',
        retryAfterMs: budget.retryAfterMs,
      });
      return;
    }
    if (message.byteLength > deps.maxPayloadBytes) {
      deps.metrics?.eventsRejected.inc({ transport: 'ws', code: 'payload_too_large' });
      ws.end(WS_CLOSE_TOO_BIG, `Frame larger than ${deps.maxPayloadBytes} bytes; send smaller batches`);
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(utf8.decode(message));
    } catch (err) {
      const code = err instanceof SyntaxError ? 'invalid_json' : 'invalid_utf8';
      deps.metrics?.eventsRejected.inc({ transport: 'ws', code });
      sendFrame(ws, { type: 'error', code, message: code === 'invalid_json' ? 'Frame is not valid JSON' : 'Frame is not valid UTF-8' });
      return;
    }
    const fast = fastClientFrame(frame);
    const parsed = fast ? ({ success: true, data: fast } as const) : ClientFrame.safeParse(frame);
    if (!parsed.success) {
      const seq = typeof (frame as { seq?: unknown })?.seq === 'number' ? (frame as { seq: number }).seq : undefined;
      deps.metrics?.eventsRejected.inc({ transport: 'ws', code: 'invalid_body' });
      const detail = zodIssues(parsed.error)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ');
      sendFrame(ws, { type: 'error', seq, code: 'invalid_body', message: `Frame does not match the protocol (${detail})` });
      return;
    }
    const f = parsed.data;
    if (f.type === 'heartbeat') {
      keepAlive(data);
      return;
    }
    if (!deps.accepting()) {
      sendFrame(ws, { type: 'error', seq: f.seq, code: 'shutting_down', message: 'Node is draining; resend after reconnecting' });
      return;
    }
    if (data.inFlight >= WS_MAX_IN_FLIGHT) {
      sendFrame(ws, { type: 'error', seq: f.seq, code: 'rate_limited', message: `More than ${WS_MAX_IN_FLIGHT} unacknowledged batches; wait for acks` });
      return;
    }
    data.inFlight++;
    onBatch(ws, f.seq, f.events, message.byteLength)
      // onBatch answers its own failures; this only catches a throw while answering (a bug),
      // which must not become an unhandled rejection that ends the process.
      .catch((err) => deps.log.error({ err }, 'ws batch handler failed'))
      .finally(() => {
        data.inFlight--;
        if (data.inFlight === 0) data.idle?.();
      });
  }

  app.ws<SocketData>(WS_PATH, {
    maxPayloadLength: deps.maxPayloadBytes * UWS_LIMIT_FACTOR,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: 1024 * 1024,
    closeOnBackpressureLimit: 1,
    upgrade(res, req, context) {
      trackAbort(res);
      const snap = snapshot(res, req);
      const q = new URLSearchParams(snap.query);
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const run = async () => {
        if (!deps.accepting()) throw new AppError(503, 'shutting_down', 'Not accepting sockets; connect to another node');
        const request = requestInfo(snap, clientIp(snap.remoteIp, snap.headers, deps.ip));
        assertAllowed(deps.limits.connect('ws-connects', request.ip), 'connections from this address');
        if (q.has('secret')) {
          // URLs end up in proxy and access logs: a secret there is as good as published.
          throw new AppError(400, 'invalid_body', 'Send the client secret in the openpanel-client-secret header, never in the URL');
        }
        admit(deps.caps.admitIp(request.ip), deps.metrics);
        let clientId: string | undefined;
        try {
          const caller = await deps.limits.authenticate(request.ip, () =>
            deps.auth.forIngest({
              clientId: q.get('clientId') || snap.headers['openpanel-client-id'],
              secret: snap.headers['openpanel-client-secret'] || undefined,
              origin: snap.headers.origin,
            }),
          );
          admit(deps.caps.admitClient(caller.clientId), deps.metrics);
          clientId = caller.clientId;
          await upgrade(caller, request, { ip: request.ip, clientId });
        } catch (err) {
          deps.caps.release(request.ip, clientId);
          throw err;
        }
      };
      const upgrade = async (caller: Caller, request: RequestInfo, capped: SocketData['capped']) => {
        const frames = await deps.limits.socketBucket(caller);
        request.sdkName = q.get('sdk') || request.sdkName;
        request.sdkVersion = q.get('sdkVersion') || request.sdkVersion;
        const deviceId = q.get('deviceId');
        if (deviceId && deviceId.length <= 64) request.deviceId = deviceId;
        // The client went away meanwhile: nothing opened, so the caller releases the caps' count.
        if (res.aborted) throw new AppError(503, 'shutting_down', 'Upgrade abandoned by the client');
        res.aborted = true;
        res.cork(() => res.upgrade<SocketData>({ caller, request, frames, capped, inFlight: 0, closed: false }, key, protocol, extensions, context));
      };
      // A refused upgrade closes its connection: refused clients must not keep descriptors.
      run().catch((err) => sendError(res, err, deps.log, undefined, true));
    },
    open(ws) {
      const data = ws.getUserData();
      sockets.add(ws);
      deps.metrics?.openSockets.inc();
      countSocket(data.caller.projectId, 1);
      // Until its first event names the device, a socket counts as a visitor of its own.
      countDevice(data, data.request.deviceId ?? `socket:${randomUUID()}`);
      keepAlive(data);
      const own = byClient.get(data.caller.clientId) ?? new Set<WebSocket<SocketData>>();
      byClient.set(data.caller.clientId, own);
      own.add(ws);
    },
    message(ws, message) {
      try {
        onMessage(ws, message);
      } catch (err) {
        // A bug reading one frame must cost that frame, not the process (uWS cannot recover a throw).
        deps.log.error({ err }, 'ws frame handler failed');
        sendFrame(ws, { type: 'error', code: 'internal', message: 'Internal error; resend the batch' });
      }
    },
    close(ws) {
      const data = ws.getUserData();
      data.closed = true;
      const own = byClient.get(data.caller.clientId);
      own?.delete(ws);
      if (own?.size === 0) byClient.delete(data.caller.clientId);
      deps.caps.release(data.capped.ip, data.capped.clientId);
      sockets.delete(ws);
      deps.metrics?.openSockets.dec();
      countSocket(data.caller.projectId, -1);
      if (data.presenceDevice) deps.onDeviceSockets?.(data.caller.projectId, data.presenceDevice, -1);
      data.presenceDevice = undefined;
      data.idle?.();
    },
  });

  return {
    /** Open SDK sockets on this node. */
    count: () => sockets.size,
    /** Open SDK sockets of one project on this node. */
    countFor: (projectId: string) => perProject.get(projectId) ?? 0,
    /** Waits for every socket's in-flight batches, then closes it with 1012 (reconnect elsewhere). */
    async drain(): Promise<void> {
      stopRevocations?.();
      if (recheck) clearInterval(recheck);
      await Promise.all(
        [...sockets].map(
          (ws) =>
            new Promise<void>((resolve) => {
              const data = ws.getUserData();
              data.idle = () => {
                if (!data.closed) ws.end(WS_CLOSE_RESTART, 'server restarting; reconnect');
                resolve();
              };
              if (data.inFlight === 0) data.idle();
            }),
        ),
      );
    },
  };
}

export const closeListenSocket = uWS.us_listen_socket_close;

/** Throws the answer to an upgrade past a socket cap: 429 `too_many_sockets` (IP, client) or 503 `overloaded` (node full). */
function admit(a: Admission, metrics?: Metrics): void {
  if (a.ok) return;
  metrics?.socketCapRefusals.inc({ cap: a.what });
  const err =
    a.what === 'node'
      ? new AppError(503, 'overloaded', `This node holds as many sockets as it may (${a.cap}); connect to another node or retry later`)
      : new AppError(429, 'too_many_sockets', `This ${a.what === 'ip' ? 'address' : 'client'} has ${a.cap} sockets open here already; close some first`);
  err.retryAfterMs = a.what === 'node' ? 5_000 : 30_000;
  throw err;
}

/** The `seq` of a batch frame, read cheaply from its start (`{"type":"batch","seq":N`), without parsing the frame. */
function peekSeq(message: ArrayBuffer): number | undefined {
  const head = Buffer.from(message, 0, Math.min(message.byteLength, 64)).toString('latin1');
  const m = /"seq"\s*:\s*(\d{1,15})/.exec(head);
  return m ? Number(m[1]) : undefined;
}
