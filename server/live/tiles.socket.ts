/**
 * Live tiles on the socket.io server (README "Live channel", docs/realtime.md): a dashboard's
 * `tiles:subscribe` / `tiles:unsubscribe`, the tiles every node of the cluster aggregates
 * (announced to the others through the adapter, tile-registry.ts), and backfills — read from
 * the store here, or asked of a peer that has it. Contract: shared/live-tiles.ts.
 */

import { setMaxListeners } from 'node:events';
import { LIVE_INTER_SERVER_EVENTS, type LiveSubscribeResult, liveViewRoom } from '../../shared/live.ts';
import {
  LIVE_TILE_LIMITS,
  PRESENCE_TILE_KINDS,
  type TileBucket,
  type TileRequest,
  TileSpec,
  TilesSubscribe,
  type TilesSubscribeResult,
  TilesUnsubscribe,
} from '../../shared/live-tiles.ts';
import { createMemoryFunnelProgress } from '../engines/funnel-progress.memory.ts';
import type { FunnelProgress, FunnelState } from '../engines/funnel-progress.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { LiveServer, LiveSocket, ShareTiles } from './live.socket.ts';
import { type BackfillTiming, secondsFrom, settledBackfill } from './tile-backfill.ts';
import { createTileRegistry } from './tile-registry.ts';
import { funnelScope, funnelShape, type ResolvedTile, resolveTile } from './tile-spec.ts';
import { createTileSet, type TileSet } from './tiles.ts';
import { createViewRegistry, type ViewRegistry } from './view-registry.ts';

/** Backfill reads a node runs against the store at once. */
const BACKFILL_READS = 8;

/** Longest a node waits for a peer's backfill (the peer waits for the store to settle first). */
export const BACKFILL_ASK_MS = 45_000;

export interface LiveTilesOptions {
  io: LiveServer;
  log: Logger;
  /** Whether the cluster adapter is in use (distributed shape) and its Redis reachable now. */
  cluster: { present: boolean; up: () => boolean };
  /** For a share link's socket: its requested tiles as it may watch them, or the refusal (LiveGate.shareTiles); undefined for other sockets. */
  shareTiles(socket: LiveSocket, projectId: string, tiles: TileRequest[]): Promise<ShareTiles> | undefined;
  /** Reads a tile from the store (AttachLiveOptions.readTile); absent on nodes without the store. */
  readTile?: (projectId: string, tile: ResolvedTile, watermark: number) => Promise<TileBucket[]>;
  /** Reads a funnel's backfill and its visits' progress (AttachLiveOptions.readFunnel); without it a seed holds no visit. */
  readFunnel?: (projectId: string, tile: ResolvedTile, watermark: number) => Promise<{ buckets: TileBucket[]; states: Array<[string, FunnelState]> }>;
  /** Where live funnels keep their visits' progress (shared by the cluster's nodes). */
  funnels?: FunnelProgress;
  backfillTiming?: BackfillTiming;
  /** How far past the next whole second a watermark lies. */
  watermarkMarginMs: number;
  /** How often this node repeats the tiles its dashboards watch to the others. */
  tilesHeartbeatMs: number;
}

export interface LiveTiles {
  /** What the tick coalescer folds rows into. */
  tileSet: TileSet;
  /** The views share sockets of the cluster watch (each gets ticks of its own tiles only). */
  views: ViewRegistry;
  /** Asks the other nodes which tiles they watch (a node joining a running cluster). */
  start(): Promise<void>;
  /** Wires `tiles:subscribe` / `tiles:unsubscribe` on a dashboard's socket and drops its tiles when it goes. */
  wire(socket: LiveSocket): void;
  /** Drops a socket's tiles (of one project; of some ids). */
  drop(socket: LiveSocket, projectId?: string, ids?: string[]): void;
  /** Stops the heartbeat and pending backfills. */
  close(): void;
}

export function createLiveTiles(opts: LiveTilesOptions): LiveTiles {
  const { io, log } = opts;
  let closed = false;
  const funnels = opts.funnels ?? createMemoryFunnelProgress();
  const tileSet = createTileSet({ progress: funnels, onError: (err) => log.warn({ err }, 'live funnel progress failed') });
  const registry = createTileRegistry({ tiles: tileSet, remoteTtlMs: 4 * opts.tilesHeartbeatMs });
  const views = createViewRegistry({ remoteTtlMs: 4 * opts.tilesHeartbeatMs });
  const aborts = new AbortController();
  setMaxListeners(0, aborts.signal); // one listener per backfill waiting on it

  io.on('tilesWatched', (payload, ack) => {
    const parsed = LIVE_INTER_SERVER_EVENTS.tilesWatched.safeParse(payload);
    if (parsed.success) {
      registry.addRemote(parsed.data.projectId, parsed.data.tiles);
      if (parsed.data.views) views.addRemote(parsed.data.projectId, parsed.data.views);
    }
    // Acknowledged once funnels started here have retired an epoch older than them (tiles.ts whenReady).
    void tileSet.whenReady().then(() => typeof ack === 'function' && ack(parsed.success));
  });
  io.on('tilesList', (ack) => {
    if (typeof ack === 'function') ack(announcements());
  });
  io.on('tilesBackfill', (payload, ack) => {
    if (typeof ack !== 'function') return;
    const parsed = LIVE_INTER_SERVER_EVENTS.tilesBackfill.safeParse(payload);
    const spec = parsed.success ? TileSpec.safeParse(parsed.data.spec) : undefined;
    if (!opts.readTile || !parsed.success || !spec?.success) return ack(null);
    let tile: ResolvedTile;
    try {
      tile = resolveTile(spec.data);
    } catch {
      return ack(null);
    }
    backfill(parsed.data.projectId, tile, parsed.data.watermark, parsed.data.seed === true).then(ack, () => ack(null));
  });

  /** Asks every other node (resolves with their answers, or what came within `ms`); none in the embedded shape. */
  function askPeers<T>(send: (done: (err: unknown, answers: T[]) => void) => void, ms: number): Promise<T[]> {
    return new Promise((resolve) => {
      if (!opts.cluster.present || !opts.cluster.up()) return resolve([]);
      const timer = setTimeout(() => resolve([]), ms);
      send((_err, answers) => {
        clearTimeout(timer);
        resolve(Array.isArray(answers) ? answers : []);
      });
    });
  }
  type Announcement = { projectId: string; tiles: Record<string, unknown>; views?: Record<string, string[]> };
  const announce = (a: Announcement) => askPeers<boolean>((done) => io.serverSideEmit('tilesWatched', a, done), 3000).then(() => {});
  /** What this node's dashboards watch, per project: tiles and share views. */
  const announcements = (): Announcement[] =>
    registry.announce().map((a) => {
      const v = views.announce(a.projectId);
      return v ? { ...a, views: v } : a;
    });
  const tilesBeat = setInterval(() => {
    registry.expire();
    views.expire();
    for (const a of announcements()) void announce(a);
  }, opts.tilesHeartbeatMs);
  tilesBeat.unref();

  const backfills = new Map<string, Promise<TileBucket[]>>();
  // Store reads for backfills run a few at a time: many screens opening at once queue here, not in ClickHouse.
  let reads = 0;
  const waiting: Array<() => void> = [];
  async function limitReads<T>(fn: () => Promise<T>): Promise<T> {
    if (reads >= BACKFILL_READS) await new Promise<void>((resolve) => waiting.push(resolve));
    reads++;
    try {
      return await fn();
    } finally {
      reads--;
      waiting.shift()?.();
    }
  }
  /**
   * A tile's backfill up to `watermark`, read here or by a peer with the store; one read for
   * every dashboard asking the same. `seed`: a funnel whose epoch starts at `watermark` — the
   * node reading the store also writes its visits' progress (docs/realtime.md "Live funnels").
   */
  function backfill(projectId: string, tile: ResolvedTile, watermark: number, seed = false): Promise<TileBucket[]> {
    const k = `${projectId}\0${tile.key}\0${watermark}\0${seed}`;
    const known = backfills.get(k);
    if (known) return known;
    let p: Promise<TileBucket[]>;
    if (opts.readTile && seed) {
      p = seedFunnel(projectId, tile, watermark);
    } else if (opts.readTile) {
      const read = opts.readTile;
      p = settledBackfill(() => limitReads(() => read(projectId, tile, watermark)), watermark, opts.backfillTiming, aborts.signal);
    } else if (opts.cluster.present) {
      p = askPeers<TileBucket[] | null>(
        (done) => io.serverSideEmit('tilesBackfill', { projectId, key: tile.key, spec: tile.spec, watermark, ...(seed && { seed }) }, done),
        BACKFILL_ASK_MS,
      ).then((answers) => {
        const got = answers.find(Array.isArray);
        if (!got) throw new Error('no node with the store answered');
        return got;
      });
    } else p = Promise.reject(new Error('no store to backfill from'));
    backfills.set(k, p);
    void p.catch(() => {}).finally(() => backfills.delete(k));
    if (seed) {
      // No seed, no progress: free the epoch so the next screen opening the funnel claims it again.
      const scope = funnelScope(projectId, tile.key);
      void p.catch(() => funnels.retire(scope, watermark + 1).catch(() => {}));
    }
    return p;
  }

  /** The funnel's backfill once the store is settled, and the seed of its progress from the same read. */
  async function seedFunnel(projectId: string, tile: ResolvedTile, watermark: number): Promise<TileBucket[]> {
    let last: { buckets: TileBucket[]; states: Array<[string, FunnelState]> } = { buckets: [], states: [] };
    const readFunnel = opts.readFunnel;
    const read = readFunnel
      ? async () => {
          last = await limitReads(() => readFunnel(projectId, tile, watermark));
          return last.buckets;
        }
      : () => limitReads(() => opts.readTile!(projectId, tile, watermark));
    const buckets = await settledBackfill(read, watermark, opts.backfillTiming, aborts.signal);
    const scope = funnelScope(projectId, tile.key);
    const applied = await funnels.seed(scope, watermark, last.states, funnelShape(tile));
    if (!applied) throw new Error('funnel epoch replaced while seeding');
    tileSet.countFunnel(projectId, tile.key, applied); // rows every node received since W, replayed in order
    return buckets;
  }

  /** Each socket's tiles: its id → project and key. */
  const socketTiles = new WeakMap<LiveSocket, Map<string, { projectId: string; key: string }>>();
  /** A share socket's view per project (the key of the set of tiles it watches there). */
  const socketViews = new WeakMap<LiveSocket, Map<string, string>>();

  /** Puts a share socket in the room of the view it now watches in `projectId` (none once it watches nothing). */
  function setView(socket: LiveSocket, projectId: string) {
    if (!socket.data.share) return;
    let mine = socketViews.get(socket);
    if (!mine) {
      mine = new Map();
      socketViews.set(socket, mine);
    }
    const keys = [...new Set([...(socketTiles.get(socket)?.values() ?? [])].filter((t) => t.projectId === projectId).map((t) => t.key))];
    const before = mine.get(projectId);
    const view = keys.length > 0 ? views.addLocal(projectId, keys) : undefined;
    if (before !== undefined) {
      views.removeLocal(projectId, before);
      if (before !== view?.key) socket.leave(liveViewRoom(projectId, before));
    }
    if (view) {
      mine.set(projectId, view.key);
      socket.join(liveViewRoom(projectId, view.key));
    } else mine.delete(projectId);
  }

  function drop(socket: LiveSocket, projectId?: string, ids?: string[]) {
    const mine = socketTiles.get(socket);
    if (!mine) return;
    const touched = new Set<string>();
    for (const [id, t] of mine) {
      if ((projectId !== undefined && t.projectId !== projectId) || (ids && !ids.includes(id))) continue;
      mine.delete(id);
      registry.removeLocal(t.projectId, t.key);
      touched.add(t.projectId);
    }
    for (const p of touched) setView(socket, p);
  }

  async function subscribe(socket: LiveSocket, body: unknown, ack: unknown) {
    const reply = (r: TilesSubscribeResult) => typeof ack === 'function' && ack(r);
    const parsed = TilesSubscribe.safeParse(body);
    if (!parsed.success) return reply({ ok: false, code: 'invalid_body', message: 'Expected { projectId, tiles: [{ id, spec }] } (see shared/live-tiles.ts)' });
    const { projectId } = parsed.data;
    let { tiles } = parsed.data;
    if (!socket.data.projectIds.includes(projectId))
      return reply({ ok: false, code: 'forbidden', message: 'This connection is not authorised for that project' });
    const limited = opts.shareTiles(socket, projectId, tiles);
    if (limited) {
      let answer: ShareTiles;
      try {
        answer = await limited;
      } catch (err) {
        log.warn({ err, projectId }, 'share tiles check failed');
        return reply({ ok: false, code: 'internal', message: 'Could not check what this link may watch; retry' });
      }
      if (!answer.ok) return reply(answer);
      if (socket.disconnected) return;
      tiles = answer.tiles;
    }
    const resolved: Array<{ id: string; tile: ResolvedTile }> = [];
    for (const [index, { id, spec }] of tiles.entries()) {
      try {
        resolved.push({ id, tile: resolveTile(spec) });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return reply({ ok: false, code: err.code, message: err.message, index });
      }
    }
    let mine = socketTiles.get(socket);
    if (!mine) {
      mine = new Map();
      socketTiles.set(socket, mine);
    }
    const adding = resolved.filter((r) => !mine.has(r.id)).length;
    if (mine.size + adding > LIVE_TILE_LIMITS.perSocket) {
      return reply({ ok: false, code: 'invalid_body', message: `A connection watches at most ${LIVE_TILE_LIMITS.perSocket} tiles` });
    }
    const added: typeof resolved = [];
    for (const r of resolved) {
      const before = mine.get(r.id);
      if (!registry.addLocal(projectId, r.tile)) {
        for (const a of added) {
          registry.removeLocal(projectId, a.tile.key);
          mine.delete(a.id);
        }
        return reply({ ok: false, code: 'overloaded', message: `This project's screens watch ${LIVE_TILE_LIMITS.perProject} different tiles already` });
      }
      if (before) registry.removeLocal(before.projectId, before.key);
      mine.set(r.id, { projectId, key: r.tile.key });
      added.push(r);
    }
    setView(socket, projectId);
    const specs = Object.fromEntries(resolved.map((r) => [r.tile.key, r.tile.spec]));
    const watching = views.announce(projectId);
    void Promise.all([announce({ projectId, tiles: specs, ...(watching && { views: watching }) }), tileSet.whenReady()]).then(async () => {
      if (socket.disconnected || closed) return;
      // Every node aggregates these tiles now: rows received from W on reach the ticks, the rest the backfill.
      const W = Math.ceil((Date.now() + opts.watermarkMarginMs + 1) / 1000) * 1000;
      const seeds = await claimFunnels(projectId, resolved, W);
      if (socket.disconnected || closed) return;
      reply({
        ok: true,
        tiles: resolved.map((r) => ({ id: r.id, key: r.tile.key, ...(PRESENCE_TILE_KINDS.includes(r.tile.kind) ? {} : { watermark: W }) })),
      });
      for (const { id, tile } of resolved) {
        if (PRESENCE_TILE_KINDS.includes(tile.kind)) continue;
        backfill(projectId, tile, W, seeds.has(tile.key)).then(
          (buckets) =>
            socket.connected &&
            socket.emit('tiles:backfill', {
              projectId,
              id,
              key: tile.key,
              watermark: W,
              buckets,
              ...(tile.kind === 'rate' && { secondsFrom: secondsFrom(W) }),
              ok: true,
            }),
          (err) => {
            if (closed) return;
            log.warn({ err, projectId }, 'tile backfill failed');
            if (socket.connected) socket.emit('tiles:backfill', { projectId, id, key: tile.key, watermark: W, buckets: [], ok: false });
          },
        );
      }
    });
  }

  /**
   * Claims the progress epoch of the funnels among `tiles` at W; returns the keys whose epoch
   * starts at W (their backfill seeds it). A funnel that already has an epoch keeps counting
   * from it: its progress already holds every visit up to W.
   */
  async function claimFunnels(projectId: string, tiles: Array<{ tile: ResolvedTile }>, W: number): Promise<Set<string>> {
    const seeds = new Set<string>();
    for (const { tile } of tiles) {
      if (tile.kind !== 'funnel') continue;
      try {
        const e = await funnels.claim(funnelScope(projectId, tile.key), W);
        if (e.from === W && !e.ready) seeds.add(tile.key);
      } catch (err) {
        log.warn({ err, projectId }, 'live funnel epoch claim failed');
      }
    }
    return seeds;
  }

  return {
    tileSet,
    views,
    async start() {
      if (!opts.cluster.present) return;
      // A node joining a running cluster aggregates the tiles already watched before it takes any event.
      const lists = await askPeers<Announcement[]>((done) => io.serverSideEmit('tilesList', done), 3000);
      for (const list of lists) {
        if (!Array.isArray(list)) continue;
        for (const a of list) {
          if (!a || typeof a.projectId !== 'string') continue;
          registry.addRemote(a.projectId, a.tiles ?? {});
          if (a.views && typeof a.views === 'object') views.addRemote(a.projectId, a.views);
        }
      }
    },
    wire(socket) {
      socket.on('tiles:subscribe', (body, ack) =>
        subscribe(socket, body, ack).catch((err) => {
          log.error({ err }, 'tiles subscribe failed');
          if (typeof ack === 'function') ack({ ok: false, code: 'internal', message: 'Internal error; retry' });
        }),
      );
      socket.on('tiles:unsubscribe', (body, ack) => {
        const parsed = TilesUnsubscribe.safeParse(body);
        const answer = (r: LiveSubscribeResult) => typeof ack === 'function' && ack(r);
        if (!parsed.success) return answer({ ok: false, code: 'invalid_body', message: 'Expected { projectId, ids? }' });
        drop(socket, parsed.data.projectId, parsed.data.ids);
        answer({ ok: true });
      });
      socket.on('disconnect', () => drop(socket));
    },
    drop,
    close() {
      closed = true;
      clearInterval(tilesBeat);
      aborts.abort();
    },
  };
}
