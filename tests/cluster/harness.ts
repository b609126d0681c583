/**
 * Shared pieces of the multi-node tests: free ports, a project made straight in PostgreSQL,
 * a browser-like `/track` sender, an SDK-like `/ws` client that keeps every unacknowledged
 * batch and resends it (same event ids) after reconnecting to another node, read-API polling,
 * and direct SQL over the chDB folder once the worker process has released it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { type LocalCluster, startLocalCluster } from '../../server/cluster/local-cluster.ts';
import { type ClickHouseClient, createClickhouse } from '../../server/store/clickhouse.ts';
import { createMetadata } from '../../server/store/metadata.ts';
import { openMetadataDb } from '../../server/store/postgres.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { createTestRedis, TEST_REDIS_URL, type TestRedis } from '../support/redis.ts';

export const ORIGIN = 'https://example.com';

/** A desktop Chrome agent per visitor number (isbot must not drop it; server-side agents open no sessions). */
export function browserUa(n: number): string {
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.${n}.0 Safari/537.36`;
}

/** A public-looking address per visitor number (with TRUST_PROXY=true it makes devices distinct). */
export function visitorIp(group: number, n: number): string {
  return `81.${group}.${(n >> 8) & 255}.${n & 255}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/** Two ingest nodes and a worker,web node on the shared Redis and PostgreSQL, isolated for one test file. */
export interface TestCluster {
  cluster: LocalCluster;
  /** The cluster's own key prefix on the shared Redis. */
  redis: TestRedis;
  /** A fresh PostgreSQL database. */
  db: TestDatabase;
  /** The worker's DATA_DIR (its chDB folder), a fresh temp folder. */
  dataDir: string;
  /** Free ports for nodes a test starts itself. */
  spare: number[];
  /** Stops the nodes (again, if a test did) and removes the key prefix, the database and the folder. */
  close(): Promise<void>;
}

/** Starts a TestCluster with these settings on every node; on failure, removes what it made. */
export async function startTestCluster(o: { folder: string; env: Record<string, string>; spare?: number }): Promise<TestCluster> {
  let redis: TestRedis | undefined;
  let db: TestDatabase | undefined;
  let cluster: LocalCluster | undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), o.folder));
  const close = async () => {
    await cluster?.stop().catch(() => {});
    await redis?.cleanup();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    redis = await createTestRedis();
    db = await createTestDatabase();
    const [p1, p2, pw, ...spare] = await freePorts(3 + (o.spare ?? 0));
    cluster = await startLocalCluster({
      redisUrl: TEST_REDIS_URL,
      redisPrefix: redis.prefix,
      databaseUrl: db.url,
      dataDir,
      ingestPorts: [p1!, p2!],
      workerPort: pw!,
      env: o.env,
    });
    return { cluster, redis, db, dataDir, spare, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface Project {
  projectId: string;
  clientId: string;
  clientSecret: string;
}

/** Creates a project (root client, allowed on example.com) directly in PostgreSQL, as the CLI does with DATABASE_URL. */
export async function createProject(databaseUrl: string, name = 'Cluster test'): Promise<Project> {
  const meta = await openMetadataDb({ kind: 'postgres', url: databaseUrl });
  try {
    return await createMetadata(meta.db).createProject({ name, domain: 'example.com' });
  } finally {
    await meta.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws with `describe()` after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs: number, describe: () => string, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(everyMs);
  }
}

/** `GET /api/v1/projects/:id/events/count?name=…` on the web node. */
export async function countByName(webUrl: string, p: Project, name: string): Promise<number> {
  const res = await fetch(`${webUrl}/api/v1/projects/${p.projectId}/events/count?name=${encodeURIComponent(name)}`, {
    headers: { 'openpanel-client-id': p.clientId, 'openpanel-client-secret': p.clientSecret },
  });
  if (!res.ok) throw new Error(`count ${name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { count: number }).count;
}

export interface Visitor {
  ua: string;
  ip: string;
}

export interface TrackAnswer {
  status: number;
  body: { deviceId?: string; sessionId?: string; error?: { code: string } } | null;
}

/** One browser `POST /track` (OpenPanel wire format) with the visitor's agent and address. */
export async function track(
  nodeUrl: string,
  p: Project,
  v: Visitor,
  name: string,
  properties: Record<string, unknown> = {},
  timeoutMs = 15_000,
): Promise<TrackAnswer> {
  const res = await fetch(`${nodeUrl}/track`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: ORIGIN,
      'user-agent': v.ua,
      'x-forwarded-for': v.ip,
      'openpanel-client-id': p.clientId,
      'openpanel-sdk-name': 'web',
      'openpanel-sdk-version': '1.0.0',
    },
    body: JSON.stringify({ type: 'track', payload: { name, properties: { __path: `${ORIGIN}/page`, ...properties } } }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: TrackAnswer['body'] = null;
  try {
    body = JSON.parse(text);
  } catch {
    // a 5xx from a proxy-less uWS is JSON too; anything else stays null
  }
  return { status: res.status, body };
}

interface Batch {
  ids: string[];
  /** The frame's events (the ids are the client's own, kept across resends). */
  events: unknown[];
  sends: number;
}

export interface SocketStats {
  connects: number;
  closeCodes: number[];
  errorFrames: string[];
  rejected: number;
  droppedDuplicates: number;
  droppedOther: string[];
  /** Per close: batches sent on that socket that had neither an ack nor an error frame. */
  unansweredAtClose: number[];
}

/**
 * An SDK stand-in on `/ws`: sends batches of events with client-made ids, keeps every batch
 * until it is acknowledged, and when its socket closes (node killed or draining) reconnects
 * to the next node URL and resends every unacknowledged batch with the same ids. An `error`
 * frame makes it resend that batch after a short pause.
 */
export class ResendingSocket {
  readonly acked = new Set<string>();
  readonly sent = new Set<string>();
  readonly stats: SocketStats = { connects: 0, closeCodes: [], errorFrames: [], rejected: 0, droppedDuplicates: 0, droppedOther: [], unansweredAtClose: [] };
  /** Seqs sent on the current socket → batch number. */
  private inFlight = new Map<number, number>();
  private unacked = new Map<number, Batch>();
  private history = new Map<number, Batch>();
  private ws: WebSocket | null = null;
  private seq = 0;
  private batchNo = 0;
  private nodeIndex = 0;
  private closing = false;
  private opened: Promise<void> = Promise.resolve();
  private listeners = new Set<() => void>();
  /** Called with (code, acksBeforeClose) when a socket closes; for the drain test. */
  onClose?: (code: number) => void;
  onAck?: (batchNo: number) => void;

  constructor(
    private readonly opts: {
      nodeUrls: () => string[];
      project: Project;
      visitor: Visitor;
      name: string;
      label: string;
      startNode?: number;
      /** The SDK's own stable device id (`deviceId` in the URL); without it the server derives one from agent + address. */
      deviceId?: string;
      /** Heartbeat period (the SDK's keeps the session open while the page is); 0 = none. */
      heartbeatMs?: number;
    },
  ) {
    this.nodeIndex = opts.startNode ?? 0;
    if (opts.heartbeatMs) {
      this.heartbeat = setInterval(() => {
        if (this.ws?.readyState === WebSocket.OPEN) this.ws.send('{"type":"heartbeat"}');
      }, opts.heartbeatMs);
    }
  }

  private heartbeat?: NodeJS.Timeout;

  /** Connects to the current node (resending whatever is unacknowledged). */
  connect(): Promise<void> {
    const urls = this.opts.nodeUrls();
    const url = urls[this.nodeIndex % urls.length]!;
    const device = this.opts.deviceId ? `&deviceId=${encodeURIComponent(this.opts.deviceId)}` : '';
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?clientId=${this.opts.project.clientId}${device}&sdk=test&sdkVersion=1`, {
      headers: { origin: ORIGIN, 'user-agent': this.opts.visitor.ua, 'x-forwarded-for': this.opts.visitor.ip },
    });
    this.ws = ws;
    this.inFlight.clear();
    this.opened = new Promise<void>((resolve) => {
      ws.once('open', () => {
        this.stats.connects++;
        for (const [no, b] of this.unacked) this.transmit(no, b);
        resolve();
      });
      ws.once('close', () => resolve());
    });
    ws.on('message', (data) => this.onFrame(ws, JSON.parse(String(data))));
    ws.on('error', () => {}); // a close follows
    ws.on('close', (code) => {
      this.stats.closeCodes.push(code);
      if (this.ws === ws) this.stats.unansweredAtClose.push(this.inFlight.size);
      this.onClose?.(code);
      if (this.ws !== ws || this.closing) return;
      // Node gone or draining: go to the next node and resend everything unacknowledged.
      this.nodeIndex++;
      setTimeout(() => void this.connect(), 50);
    });
    return this.opened;
  }

  /** Queues a batch of `n` events (ids `<label>-<batch>-<i>`) and sends it if connected. */
  sendBatch(n: number, extra: Record<string, unknown> = {}): number {
    const no = this.batchNo++;
    const ids: string[] = [];
    const events = Array.from({ length: n }, (_, i) => {
      const id = `${this.opts.label}-${no}-${i}`;
      ids.push(id);
      this.sent.add(id);
      return { id, type: 'track', payload: { name: this.opts.name, properties: { __path: `${ORIGIN}/ws/${i % 5}`, eid: id, ...extra } } };
    });
    const batch: Batch = { ids, events, sends: 0 };
    this.history.set(no, batch);
    this.unacked.set(no, batch);
    this.transmit(no, batch);
    return no;
  }

  /** Sends an already acknowledged batch again, same ids (as after an ack lost in transit). */
  replay(no: number): void {
    const batch = this.history.get(no);
    if (!batch || this.unacked.has(no)) throw new Error(`batch ${no} is not an acknowledged batch`);
    this.unacked.set(no, batch);
    this.transmit(no, batch);
  }

  get pending(): number {
    return this.unacked.size;
  }

  /** Resolves once every batch was acknowledged. */
  async settled(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => this.unacked.size === 0,
      timeoutMs,
      () => `${this.opts.label}: ${this.unacked.size} batches unacknowledged (${JSON.stringify(this.stats)})`,
      50,
    );
  }

  /** Waits until fewer than `max` batches are unacknowledged. */
  async window(max: number): Promise<void> {
    while (this.unacked.size >= max) await new Promise<void>((r) => this.listeners.add(r));
  }

  close(): void {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.ws?.close(1000);
  }

  private transmit(no: number, b: Batch): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return; // sent on (re)connect
    const seq = this.seq++;
    this.inFlight.set(seq, no);
    b.sends++;
    ws.send(JSON.stringify({ type: 'batch', seq, events: b.events }));
  }

  private onFrame(
    ws: WebSocket,
    f: { type: string; seq?: number; code?: string; retryAfterMs?: number; accepted?: number; rejected?: unknown[]; dropped?: Array<{ reason: string }> },
  ): void {
    if (ws !== this.ws || f.seq === undefined) return;
    const no = this.inFlight.get(f.seq);
    if (no === undefined) return;
    this.inFlight.delete(f.seq);
    const b = this.unacked.get(no);
    if (!b) return;
    if (f.type === 'ack') {
      this.stats.rejected += f.rejected?.length ?? 0;
      for (const d of f.dropped ?? []) {
        if (d.reason === 'duplicate') this.stats.droppedDuplicates++;
        else this.stats.droppedOther.push(d.reason);
      }
      // An ack means every event of the batch is durable (accepted now, or a duplicate of one accepted before).
      for (const id of b.ids) this.acked.add(id);
      this.unacked.delete(no);
      this.onAck?.(no);
      for (const l of this.listeners) l();
      this.listeners.clear();
    } else if (f.type === 'error') {
      this.stats.errorFrames.push(f.code ?? '?');
      // Resent like the SDK does: after the server's Retry-After when it gives one.
      setTimeout(() => this.transmit(no, b), Math.max(100, f.retryAfterMs ?? 0));
    }
  }
}

/** Opens the chDB folder of a stopped worker node for direct SQL. */
export async function openEventStore(
  dataDir: string,
): Promise<{ ch: ClickHouseClient; rows<T>(query: string, params?: Record<string, unknown>): Promise<T[]> }> {
  const ch = await createClickhouse({ kind: 'chdb', dir: path.join(dataDir, 'ch'), database: 'livepanel' });
  return {
    ch,
    async rows<T>(query: string, params: Record<string, unknown> = {}) {
      const rs = await ch.query({ query: `${query} SETTINGS output_format_json_quote_64bit_integers = 0`, query_params: params, format: 'JSONEachRow' });
      return rs.json<T>();
    },
  };
}

export const uniqueLabel = () => randomUUID().slice(0, 8);
