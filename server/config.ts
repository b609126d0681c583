/**
 * The only reader of `process.env`. Every setting is validated with zod at start-up; a bad
 * value stops the process with a message naming the variable. An unset URL selects the
 * embedded engine for that concern (PGlite, chDB, in-process bus and queue).
 */
import path from 'node:path';
import { z } from 'zod';
import { parseRateSpec, type RateSpec } from '../shared/rate-limits.ts';
import { compileTrust, type TrustProxySetting } from './ingest/client-ip.ts';
import { RATE_LIMIT_NAMES, type RateLimitName } from './limits/limits.ts';

export const ROLES = ['ingest', 'worker', 'web'] as const;
export type Role = (typeof ROLES)[number];

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');
/** A boolean left undefined when unset (its default depends on other settings). */
const optionalBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes' || v === 'on'));
const url = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((u) => protocols.includes(new URL(u).protocol), `must start with ${protocols.join(' or ')}//`)
    .optional();

/** `RATE_LIMIT_<NAME>` default of each rate limit (README "Rate limits" explains each). */
export const RATE_LIMIT_DEFAULTS: Record<RateLimitName, string> = {
  'browser-events': '1000/10s',
  'server-events': '200000/10s',
  'socket-frames': '300/10s',
  'server-socket-frames': '30000/10s',
  read: '1200/1m',
  'ws-connects': '300/1m',
  'live-connects': '120/1m',
  'auth-failures': '60/1m',
};

const rateLimitVar = (name: RateLimitName) => `RATE_LIMIT_${name.toUpperCase().replaceAll('-', '_')}`;

function rateLimitVars() {
  return Object.fromEntries(
    RATE_LIMIT_NAMES.map((name) => [
      rateLimitVar(name),
      z
        .string()
        .default(RATE_LIMIT_DEFAULTS[name])
        .transform((v, ctx) => {
          try {
            return parseRateSpec(v);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: (err as Error).message });
            return z.NEVER;
          }
        }),
    ]),
  ) as Record<`RATE_LIMIT_${string}`, z.ZodType<RateSpec, string | undefined>>;
}

const Env = z.object({
  PORT: int(3000, 0).refine((p) => p < 65536, 'must be a port number'),
  HOST: z.string().default('0.0.0.0'),
  ADMIN_PORT: int(0, 0).refine((p) => p < 65536, 'must be a port number'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  CLICKHOUSE_URL: url(['http:', 'https:']),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().regex(/^\w+$/, 'letters, digits and _ only').default('livepanel'),
  REDIS_URL: url(['redis:', 'rediss:']),
  REDIS_PREFIX: z.string().default('lp:'),
  ROLE: z
    .string()
    .default('all')
    .transform((s) =>
      s
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum([...ROLES, 'all'])).min(1))
    .transform((rs): Role[] => (rs.includes('all') ? [...ROLES] : [...new Set(rs as Role[])])),
  GEOIP_CITY_DB: z.string().optional(),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((s, ctx): TrustProxySetting => {
      const v = s.trim().toLowerCase();
      if (['false', 'no', '0', 'off'].includes(v)) return false;
      // `true` once meant "believe the left-most X-Forwarded-For entry" (spoofable); now one proxy hop.
      if (['true', 'yes', 'on'].includes(v)) return { hops: 1 };
      if (/^\d+$/.test(v)) return { hops: Number(v) };
      const addresses = v
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean);
      try {
        compileTrust({ addresses });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `a hop count, or proxy addresses/subnets (${(err as Error).message})` });
        return z.NEVER;
      }
      return { addresses };
    }),
  IP_HEADER: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9-]+$/, 'one header name')
    .refine((h) => h !== 'x-forwarded-for', 'X-Forwarded-For is used by default; leave IP_HEADER unset')
    .optional(),
  IP_HEADERS: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined,
      'replaced: set TRUST_PROXY to the number of proxies in front (or their addresses) and, if your proxy sets one, IP_HEADER to its client-address header (see README "Client IP behind a proxy")',
    ),
  SESSION_TIMEOUT_MS: int(30 * 60_000, 1000),
  SESSION_GRACE_MS: int(60_000, 0),
  SESSION_REAP_INTERVAL_MS: int(5000, 100),
  FLUSH_SIZE: int(10_000, 1),
  FLUSH_MAX_SIZE: z.coerce.number().int().min(1).optional(),
  V8_HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(1000).optional(),
  V8_HEAP_SLACK_MB: z.coerce.number().int().min(0).optional(),
  V8_HEAP_TARGET_MB: z.coerce.number().int().min(0).optional(),
  FLUSH_INTERVAL_MS: int(1000, 1),
  STORE_THREADS_NICE: z.coerce.number().int().min(0).max(19).default(10),
  INSERT_PARALLEL_PARSING: optionalBool,
  WORKER_FLUSH_SIZE: int(20_000, 1),
  DEDUPE_TTL_MS: int(3_600_000, 1000),
  READY_MAX_LAG_MS: int(60_000, 1000),
  MAX_OPEN_SESSIONS: int(200_000, 1),
  MAX_OPEN_SESSIONS_PER_PROJECT: int(100_000, 1),
  DEDUPE_MAX_IDS_PER_PROJECT: int(200_000, 1),
  MAX_UNKNOWN_CLIENT_IDS: int(10_000, 1),
  MAX_PROFILE_PROPERTIES: int(1000, 1),
  MAX_BODY_BYTES: int(1024 * 1024, 1024),
  MAX_EVENT_BYTES: int(64 * 1024, 256),
  WS_MAX_SOCKETS: z
    .string()
    .default('auto')
    .refine((v) => v === 'auto' || /^\d+$/.test(v), 'auto or a number (0: no cap)'),
  WS_MAX_SOCKETS_PER_IP: int(500, 0),
  WS_MAX_SOCKETS_PER_CLIENT: int(0, 0),
  CLIENT_RECHECK_MS: int(30_000, 100),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  RATE_LIMITS: bool(true),
  ...rateLimitVars(),
  QUERY_RATE_LIMIT: int(600, 1),
  QUERY_CACHE_TTL_MS: int(600_000, 0),
  QUERY_CACHE_LIVE_TTL_MS: int(5_000, 0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_URL: z.string().url().optional(),
  AUTH_SESSION_DAYS: int(30, 1),
  INVITATION_TTL_HOURS: int(72, 1),
  SMTP_URL: url(['smtp:', 'smtps:']),
  SMTP_FROM: z.string().default('Livepanel <livepanel@localhost>'),
});

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {}

/** Parses an environment (default: `process.env`) into a Config, or throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    adminPort: e.ADMIN_PORT,
    dataDir,
    roles: e.ROLE,
    postgres: e.DATABASE_URL ? { kind: 'postgres' as const, url: e.DATABASE_URL } : { kind: 'pglite' as const, dir: path.join(dataDir, 'pg') },
    clickhouse: e.CLICKHOUSE_URL
      ? { kind: 'http' as const, url: e.CLICKHOUSE_URL, username: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD, database: e.CLICKHOUSE_DATABASE }
      : { kind: 'chdb' as const, dir: path.join(dataDir, 'ch'), database: e.CLICKHOUSE_DATABASE },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, prefix: e.REDIS_PREFIX } : undefined,
    geoipCityDb: e.GEOIP_CITY_DB,
    clientIp: { trust: e.TRUST_PROXY, ipHeader: e.IP_HEADER },
    sessionTimeoutMs: e.SESSION_TIMEOUT_MS,
    sessionGraceMs: e.SESSION_GRACE_MS,
    sessionReapIntervalMs: e.SESSION_REAP_INTERVAL_MS,
    flushSize: e.FLUSH_SIZE,
    // A backlog behind a running insert may go in inserts of up to this many rows; by default
    // 2 × FLUSH_SIZE: larger inserts cost chDB less CPU per row but more memory (write-path.md).
    flushMaxSize: Math.max(e.FLUSH_SIZE, e.FLUSH_MAX_SIZE ?? 2 * e.FLUSH_SIZE),
    // Embedded (PGlite, no DATABASE_URL): 100, measured under /ws (docs/benchmarks.md); elsewhere V8's own (0).
    heapGrowingPercent: e.V8_HEAP_GROWING_PERCENT ?? (e.DATABASE_URL ? 0 : 100),
    // …and that room at most this many MB (0: no bound), so long-lived state (open sessions,
    // caches) is not matched by as much garbage again (server/heap-growth.ts).
    heapSlackMb: e.V8_HEAP_SLACK_MB ?? (e.DATABASE_URL ? 0 : 96),
    // …and the live heap plus that room at most this many MB, down to a 25 % room (0: no
    // budget): the room shrinks as long-lived state grows (server/heap-growth.ts).
    heapTargetMb: e.V8_HEAP_TARGET_MB ?? (e.DATABASE_URL ? 0 : 192),
    flushIntervalMs: e.FLUSH_INTERVAL_MS,
    // Embedded: chDB's threads and the insert thread below the ingest loop (store/thread-nice.ts).
    storeThreadsNice: e.STORE_THREADS_NICE,
    // ClickHouse's parallel parser for each insert: off with chDB (a chunk is one segment; the
    // parser's threads only add CPU and memory beside the insert's), on with a server (its default).
    insertParallelParsing: e.INSERT_PARALLEL_PARSING ?? Boolean(e.CLICKHOUSE_URL),
    workerFlushSize: e.WORKER_FLUSH_SIZE,
    dedupeTtlMs: e.DEDUPE_TTL_MS,
    readyMaxLagMs: e.READY_MAX_LAG_MS,
    maxOpenSessions: e.MAX_OPEN_SESSIONS,
    maxOpenSessionsPerProject: e.MAX_OPEN_SESSIONS_PER_PROJECT,
    dedupeMaxIdsPerProject: e.DEDUPE_MAX_IDS_PER_PROJECT,
    maxUnknownClientIds: e.MAX_UNKNOWN_CLIENT_IDS,
    maxProfileProperties: e.MAX_PROFILE_PROPERTIES,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxEventBytes: e.MAX_EVENT_BYTES,
    metricsToken: e.METRICS_TOKEN,
    clientRecheckMs: e.CLIENT_RECHECK_MS,
    socketCaps: {
      /** `auto`: decided at start from the descriptor limit and what the stores already hold (limits/socket-caps.ts). */
      total: e.WS_MAX_SOCKETS === 'auto' ? ('auto' as const) : Number(e.WS_MAX_SOCKETS),
      perIp: e.WS_MAX_SOCKETS_PER_IP,
      perClient: e.WS_MAX_SOCKETS_PER_CLIENT,
    },
    rateLimits: {
      enabled: e.RATE_LIMITS,
      defaults: Object.fromEntries(RATE_LIMIT_NAMES.map((n) => [n, (e as Record<string, unknown>)[rateLimitVar(n)] as RateSpec])) as Record<
        RateLimitName,
        RateSpec
      >,
    },
    queryRateLimit: e.QUERY_RATE_LIMIT,
    queryCacheTtlMs: e.QUERY_CACHE_TTL_MS,
    queryCacheLiveTtlMs: e.QUERY_CACHE_LIVE_TTL_MS,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL,
    authSessionTtlMs: e.AUTH_SESSION_DAYS * 86_400_000,
    invitationTtlMs: e.INVITATION_TTL_HOURS * 3_600_000,
    smtp: e.SMTP_URL ? { url: e.SMTP_URL, from: e.SMTP_FROM } : undefined,
  };
}
