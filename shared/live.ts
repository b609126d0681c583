/**
 * The live channel's wire contract (README "Live channel", docs/realtime.md): socket.io on the uWS app at
 * `/socket.io/`, used by dashboards and TVs. Each schema here is tied to its event name, and
 * the socket.io event maps are derived from them, so `Server<…>` / `Socket<…>` on both sides
 * are typed from one source.
 *
 * Connect with `auth: { projectId }` (the dashboard: the signed-in user's cookie goes with the
 * handshake), `{ share, grant? }` (a share link), or `{ clientId, clientSecret, projectId }` (a
 * `read` or `root` client of that project). A refused handshake ends in `connect_error` whose `data` is a `LiveConnectError`
 * (stable `code` from shared/errors.ts). On connect the socket is already in the project's
 * room: it receives `tick` (per node, about every 100 ms while the project has traffic) and
 * `presence` (on join and whenever the total changes). Dashboards merge ticks from every node.
 */
import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import { LIVE_TILE_LIMITS, TickTiles, TileBackfill, type TileBucket, TilesSubscribe, TilesSubscribeResult, TilesUnsubscribe } from './live-tiles.ts';

/** Engine.IO path the live channel is served at (socket.io's default, with the trailing slash). */
export const LIVE_PATH = '/socket.io/';

/** Room every dashboard of a project joins; ticks and presence are emitted to it. Share links' sockets are not in it. */
export const liveRoom = (projectId: string): `project:${string}` => `project:${projectId}`;

/** Room of the share-link sockets watching one set of tiles (a view) of a project: they get ticks holding those tiles only. */
export const liveViewRoom = (projectId: string, viewKey: string): `view:${string}` => `view:${projectId}:${viewKey}`;

/** Room of the share-link sockets given the project's presence (links without a fixed filter). */
export const livePresenceRoom = (projectId: string): `presence:${string}` => `presence:${projectId}`;

/** Caps on one tick, so a traffic spike cannot make a tick large. */
export const LIVE_TICK_LIMITS = {
  /** Event names kept (the most frequent). */
  events: 50,
  /** Paths kept (the most viewed). */
  pages: 10,
  referrers: 10,
  countries: 20,
  /** Most recent raw events for the feed. */
  sample: 10,
  /** Map points (one per device per tick). */
  geo: 50,
} as const;

const ProjectId = z.string().min(1).max(64);
const Count = z.number().int().nonnegative();
const Counts = z.record(z.string(), Count);

/** Handshake `auth` of a script or server watching a project with a `read`/`root` API client. */
export const LiveClientAuth = z.object({
  clientId: z.string().min(1).max(64),
  clientSecret: z.string().min(1).max(256),
  projectId: ProjectId,
});
export type LiveClientAuth = z.infer<typeof LiveClientAuth>;

/** Handshake `auth` of a TV or embed: a share link's token (and the grant unlocking its password). */
export const LiveShareAuth = z.object({ share: z.string().min(1).max(200), grant: z.string().max(200).optional() });

/** Handshake `auth` of the dashboard: the signed-in user's session cookie travels with the handshake. */
export const LiveUserAuth = z.strictObject({ projectId: ProjectId });

/** Handshake `auth` of any live socket: an API client, a share link, or the signed-in user. */
export const LiveAuth = z.union([LiveClientAuth, LiveShareAuth, LiveUserAuth]);
export type LiveAuth = z.infer<typeof LiveAuth>;

/** `data` of the `connect_error` a refused handshake produces. */
export const LiveConnectError = z.object({
  code: ErrorCode,
  message: z.string(),
  /** With `rate_limited`: reconnect after this many milliseconds. */
  retryAfterMs: z.number().int().positive().optional(),
});
export type LiveConnectError = z.infer<typeof LiveConnectError>;

/** One raw event of a tick's feed sample. */
export const LiveSampleEvent = z.object({
  name: z.string(),
  path: z.string(),
  country: z.string(),
  city: z.string(),
  browser: z.string(),
  /** UTC 'YYYY-MM-DD hh:mm:ss.sss', as stored. */
  created_at: z.string(),
});
export type LiveSampleEvent = z.infer<typeof LiveSampleEvent>;

/**
 * What one node saw for one project since its previous tick. Counts are deltas: dashboards
 * add them up. `events` counts every stored event by name (including `session_start` and
 * `session_end`); the rest are query-model metrics by query-model dimensions (the server's
 * registry): `pages` = pageviews by event:path; `referrers` = sessions by
 * session:referrer_name (direct visits are not listed: `sessionsStarted` minus the sum);
 * `countries` = events by geo:country. Maps keep the top entries
 * only (LIVE_TICK_LIMITS); past a per-tick key budget, new keys are counted under `(other)`.
 */
export const LiveTick = z.object({
  projectId: ProjectId,
  /** Id of the node that coalesced it (ticks from different nodes are separate deltas). */
  node: z.string(),
  /** When the node emitted it (epoch ms). */
  at: z.number().int(),
  events: Counts,
  sessionsStarted: Count,
  /**
   * Query-model metrics over this tick's rows, counted with the registry's definitions:
   * `events` (SDK events, not session_start/session_end), `pageviews`, `sessions` (visits
   * started), `revenue`. What `POST /api/v1/query` answers for the same events.
   */
  totals: z.record(z.string(), z.number().nonnegative()),
  pages: Counts,
  referrers: Counts,
  countries: Counts,
  sample: z.array(LiveSampleEvent).max(LIVE_TICK_LIMITS.sample),
  geo: z.array(z.object({ lat: z.number(), lon: z.number() })).max(LIVE_TICK_LIMITS.geo),
  /** This node's tick counter (per project, from 1 at the node's start): a gap means a lost tick. */
  seq: z.number().int().positive().optional(),
  /** When the node received the oldest event in this tick (epoch ms): `at - oldest` is the server's share of event→screen latency. */
  oldest: z.number().int().optional(),
  /** Deltas of the watched tiles (shared/live-tiles.ts), by tile key. */
  tiles: TickTiles.optional(),
});
export type LiveTick = z.infer<typeof LiveTick>;

/**
 * The project's visitors right now, over every ingest node. `online`: distinct devices with an
 * open SDK socket (two tabs of one browser are one visitor). `active`: distinct devices that
 * sent an event in the last 5 minutes (SDKs without a socket included). `sockets`: open SDK
 * sockets. `at`: when the server read them (epoch ms).
 */
export const LivePresence = z.object({
  projectId: ProjectId,
  online: Count,
  active: Count.optional(),
  sockets: Count.optional(),
  at: z.number().int().optional(),
});
export type LivePresence = z.infer<typeof LivePresence>;

/**
 * How often a node sends `heartbeat` to every dashboard it holds, whether or not its projects
 * have traffic: a screen that hears nothing for LIVE_SILENCE_MS knows its connection is gone
 * (a network that drops packets silently, a frozen server) long before the transport's own
 * ping timeout, and re-syncs. One tiny message per second per dashboard, whatever the event rate.
 */
export const LIVE_BEAT_MS = 1000;
/** Silence after which a dashboard treats its connection as lost (several missed heartbeats). */
export const LIVE_SILENCE_MS = 6000;

/** Server → dashboard every LIVE_BEAT_MS: the node is alive and the path to it open. `at`: the node's clock (epoch ms). */
export const LiveHeartbeat = z.object({ at: z.number().int() });
export type LiveHeartbeat = z.infer<typeof LiveHeartbeat>;

/** Body of `subscribe` / `unsubscribe`. */
export const LiveSubscribe = z.object({ projectId: ProjectId });
export type LiveSubscribe = z.infer<typeof LiveSubscribe>;

/** Answer (socket.io acknowledgement) to `subscribe` / `unsubscribe`. */
export const LiveSubscribeResult = z.union([z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), code: ErrorCode, message: z.string() })]);
export type LiveSubscribeResult = z.infer<typeof LiveSubscribeResult>;

/** Server → dashboard: event name → payload schema. */
export const LIVE_SERVER_EVENTS = { tick: LiveTick, presence: LivePresence, 'tiles:backfill': TileBackfill, heartbeat: LiveHeartbeat } as const;
/** Dashboard → server: event name → body schema (each answered through an acknowledgement). */
export const LIVE_CLIENT_EVENTS = {
  subscribe: LiveSubscribe,
  unsubscribe: LiveSubscribe,
  'tiles:subscribe': TilesSubscribe,
  'tiles:unsubscribe': TilesUnsubscribe,
} as const;
/** Dashboard → server: event name → acknowledgement schema. */
export const LIVE_CLIENT_ACKS = {
  subscribe: LiveSubscribeResult,
  unsubscribe: LiveSubscribeResult,
  'tiles:subscribe': TilesSubscribeResult,
  'tiles:unsubscribe': LiveSubscribeResult,
} as const;
/** Node → node (through the adapter): event name → payload schema. */
export const LIVE_INTER_SERVER_EVENTS = {
  /** These projects' presence changed: re-read the totals for local dashboards. */
  presenceChanged: z.array(ProjectId).max(10_000),
  /**
   * Start aggregating these tiles (key → spec) of a project; every node acknowledges (also the heartbeat that keeps them).
   * `views`: the tile sets share-link sockets of the sender watch (view key → tile keys), to send them ticks of those tiles only.
   */
  tilesWatched: z.object({
    projectId: ProjectId,
    tiles: z.record(z.string(), z.unknown()),
    views: z.record(z.string().max(64), z.array(z.string().max(64)).max(LIVE_TILE_LIMITS.perSocket)).optional(),
  }),
  /** A node without the store asks one with it for a tile's backfill. */
  tilesBackfill: z.object({
    projectId: ProjectId,
    key: z.string(),
    spec: z.unknown(),
    watermark: z.number().int(),
    /** A funnel whose progress epoch starts at `watermark`: the answering node also seeds it. */
    seed: z.boolean().optional(),
  }),
} as const;

type Payload<M, K extends keyof M> = M[K] extends z.ZodType ? z.infer<M[K]> : never;

/** `Server<…, ServerToClientEvents>` / client `Socket<ServerToClientEvents, …>`. */
export type ServerToClientEvents = {
  [K in keyof typeof LIVE_SERVER_EVENTS]: (payload: Payload<typeof LIVE_SERVER_EVENTS, K>) => void;
};
/** `Server<ClientToServerEvents>` / client `Socket<…, ClientToServerEvents>`. */
export type ClientToServerEvents = {
  [K in keyof typeof LIVE_CLIENT_EVENTS]: (body: Payload<typeof LIVE_CLIENT_EVENTS, K>, ack: (result: Payload<typeof LIVE_CLIENT_ACKS, K>) => void) => void;
};
export type InterServerEvents = {
  presenceChanged: (payload: Payload<typeof LIVE_INTER_SERVER_EVENTS, 'presenceChanged'>) => void;
  tilesWatched: (payload: Payload<typeof LIVE_INTER_SERVER_EVENTS, 'tilesWatched'>, ack: (ok: boolean) => void) => void;
  /** A starting node asks the others which tiles they watch (answered with what `tilesWatched` announces). */
  tilesList: (ack: (list: Array<Payload<typeof LIVE_INTER_SERVER_EVENTS, 'tilesWatched'>>) => void) => void;
  tilesBackfill: (payload: Payload<typeof LIVE_INTER_SERVER_EVENTS, 'tilesBackfill'>, ack: (buckets: TileBucket[] | null) => void) => void;
};
/** What the server keeps on each dashboard socket (`socket.data`). */
export interface SocketData {
  /** What the socket authenticated with (`client:<id>`, `user-session:<id>`, `share-token:<id>`): what a revocation names. */
  credential: string;
  /** The signed-in user, for user sockets (a change of their memberships disconnects them). */
  userId?: string;
  /** Projects this socket joined at the handshake. */
  projectIds: string[];
  /** A share link's socket: it watches its view's tiles only and is kept out of the project's room. */
  share?: boolean;
}
