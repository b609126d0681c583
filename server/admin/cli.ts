/**
 * `npm run admin -- <command> [--name N] [--domain D] [--project ID] [--type T] [--origin URL]... [--client ID]
 *                  [--email E] [--password-stdin] [--role R] [--org ID] [--rate NAME=VALUE]...`
 * `npm run admin -- quarantine list|replay|drop [--project ID] [--id ID]... [--limit N] [--all]`
 *
 * The quarantine commands work on the event store: with CLICKHOUSE_URL the CLI opens
 * ClickHouse itself; with chDB it sends them to the server holding the data folder (or opens
 * chDB under the lock when no server runs).
 *
 * Runs an admin command and prints exactly one JSON line: the result on stdout, or
 * `{error:{code,message}}` on stderr with exit code 1. With DATABASE_URL it talks to
 * PostgreSQL. In the embedded shape it never opens PGlite beside a running server (two
 * processes on one PGlite folder lose writes): it sends the command to the server holding
 * the data lock, or, when nobody holds it, holds the lock itself while it works.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { AUTH_CHANNELS } from '../../shared/auth.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import { type Config, loadConfig } from '../config.ts';
import { acquireDataLock, DataLockHeldError, type DataLockInfo } from '../data-lock.ts';
import { createRedisBus } from '../engines/bus.redis.ts';
import { AppError } from '../errors.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { createClickhouse } from '../store/clickhouse.ts';
import { openMetadataDb } from '../store/postgres.ts';
import { createWriter } from '../store/writer.ts';
import { ADMIN_PATH_PREFIX, ADMIN_TOKEN_HEADER, newAdminToken } from './admin-http.ts';
import { ADMIN_COMMANDS, type AdminCommand, type AdminContext, adminContext, needsStore, parseAdminArgs, runAdminCommand } from './commands.ts';

const USAGE = `usage: npm run admin -- <${ADMIN_COMMANDS.filter((c) => !needsStore(c)).join('|')}> [--name N] [--domain D] [--project ID] [--type write|read|root] [--origin URL]... [--client ID] [--email E] [--password-stdin] [--role owner|admin|member|viewer] [--org ID] [--rate NAME=VALUE]...
       npm run admin -- quarantine <list|replay|drop> [--project ID] [--id ID]... [--limit N] [--all]`;
const REMOTE_TIMEOUT_MS = 30_000;

/** argv → command name and the args object the command table validates. */
function parseCli(argv: string[]): { command: string; args: Record<string, unknown>; passwordStdin: boolean } {
  let parsed: ReturnType<typeof parseCliRaw>;
  try {
    parsed = parseCliRaw(argv);
  } catch (err) {
    throw new AppError(400, 'invalid_body', `${(err as Error).message}\n${USAGE}`);
  }
  // `quarantine list` is the command `quarantine-list`.
  const positionals =
    parsed.positionals[0] === 'quarantine' && parsed.positionals[1]
      ? [`quarantine-${parsed.positionals[1]}`, ...parsed.positionals.slice(2)]
      : parsed.positionals;
  const [command, ...extra] = positionals;
  if (!command) throw new AppError(400, 'invalid_body', `no command given\n${USAGE}`);
  if (extra.length > 0) throw new AppError(400, 'invalid_body', `unexpected argument ${JSON.stringify(extra[0])}\n${USAGE}`);
  const { origin, id, rate, 'password-stdin': passwordStdin, ...rest } = parsed.values;
  const args: Record<string, unknown> = { ...rest };
  if (origin !== undefined) args.origins = origin;
  if (id !== undefined) args.ids = id;
  if (rate !== undefined) args.limits = rate;
  return { command, args, passwordStdin: passwordStdin === true };
}

/** The password piped to `--password-stdin` (one line; the trailing newline is not part of it). */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (text === '') throw new AppError(400, 'invalid_body', '--password-stdin: nothing on standard input');
  return text;
}

function parseCliRaw(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      domain: { type: 'string' },
      project: { type: 'string' },
      type: { type: 'string' },
      origin: { type: 'string', multiple: true },
      client: { type: 'string' },
      email: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      role: { type: 'string' },
      org: { type: 'string' },
      id: { type: 'string', multiple: true },
      limit: { type: 'string' },
      all: { type: 'boolean' },
      rate: { type: 'string', multiple: true },
    },
  });
}

/** Runs a quarantine command in this process against the event store. */
async function runOnStore(cfg: Config['clickhouse'], command: AdminCommand, args: unknown): Promise<unknown> {
  const ch = await createClickhouse(cfg);
  try {
    await migrateClickhouse(ch, cfg.database);
    const writer = createWriter(ch);
    // The quarantine commands never read the metadata database.
    const ctx = { store: { quarantine: writer.quarantine, insertRows: writer.insertRows } } as AdminContext;
    return await runAdminCommand(ctx, command, args);
  } finally {
    await ch.close();
  }
}

/** Runs the command in this process against the metadata database (or the event store). */
async function runLocally(config: Config, command: AdminCommand, args: unknown): Promise<unknown> {
  if (needsStore(command)) return runOnStore(config.clickhouse, command, args);
  const handle = await openMetadataDb(config.postgres);
  // With Redis configured (the distributed shape), what the command revokes — a disabled
  // client, a reset password, a project whose limits changed — is published on the bus the
  // running nodes listen on, as a server would.
  const redisConfig = config.redis;
  const redis = redisConfig && new Redis(redisConfig.url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5000 });
  try {
    let revoke: AdminContext['revoke'];
    if (redis && redisConfig) {
      redis.on('error', () => {}); // reported through the failing publish
      const bus = createRedisBus({ redis, prefix: redisConfig.prefix });
      revoke = async (r) => {
        try {
          if (redis.status === 'wait') await redis.connect();
          await bus.publish(AUTH_CHANNELS.revoked, r);
        } catch (err) {
          throw new AppError(503, 'internal', `the change is stored, but the running nodes could not be told through Redis (${(err as Error).message})`);
        }
      };
    }
    return await runAdminCommand(adminContext(handle.db, revoke), command, args);
  } finally {
    redis?.disconnect();
    await handle.close();
  }
}

/** Sends the command to the live server that holds the data lock. */
async function runRemotely(holder: DataLockInfo, command: AdminCommand, args: unknown): Promise<unknown> {
  if (holder.port === 0) {
    throw new AppError(
      503,
      'not_ready',
      `process ${holder.pid} holds the data folder and does not take admin commands yet (a server starting, or another admin command); try again shortly`,
    );
  }
  const url = `http://127.0.0.1:${holder.port}${ADMIN_PATH_PREFIX}${command}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [ADMIN_TOKEN_HEADER]: holder.adminToken },
      body: JSON.stringify(args),
      signal: AbortSignal.timeout(REMOTE_TIMEOUT_MS),
    });
  } catch (err) {
    const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new AppError(
      503,
      'not_ready',
      `the Livepanel server (pid ${holder.pid}) holds the data folder but does not answer on 127.0.0.1:${holder.port} (${reason}). ` +
        'Refusing to open the embedded database beside it; wait until it is ready, or stop it and retry.',
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError(502, 'internal', `the server answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    const e = (body as Partial<ErrorBody>).error;
    throw new AppError(res.status, e?.code ?? 'internal', e?.message ?? `the server answered ${res.status}`);
  }
  return body;
}

/** Embedded shape: remote when a live server holds DATA_DIR, else local under our own lock. */
async function runEmbedded(config: Config, command: AdminCommand, args: unknown): Promise<unknown> {
  let lock: ReturnType<typeof acquireDataLock>;
  try {
    lock = acquireDataLock(config.dataDir, { port: 0, adminToken: newAdminToken() });
  } catch (err) {
    if (err instanceof DataLockHeldError) return runRemotely(err.holder, command, args);
    throw err;
  }
  try {
    return await runLocally(config, command, args);
  } finally {
    lock.release();
  }
}

/** The CLI: returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const { command, args, passwordStdin } = parseCli(argv);
    if (passwordStdin) args.password = await readPasswordFromStdin();
    const parsedArgs = parseAdminArgs(command, args); // fail on bad input before touching any database
    const config = loadConfig();
    const cmd = command as AdminCommand;
    // chDB and PGlite belong to the process holding DATA_DIR; servers (PostgreSQL, ClickHouse) do not.
    const embedded = needsStore(cmd) ? config.clickhouse.kind === 'chdb' : config.postgres.kind === 'pglite';
    const result = embedded ? await runEmbedded(config, cmd, parsedArgs) : await runLocally(config, cmd, parsedArgs);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    const body: ErrorBody = err instanceof AppError ? err.toBody() : { error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
    process.stderr.write(`${JSON.stringify(body)}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
