/**
 * Opens the event store as one `@clickhouse/client` ClickHouseClient, whichever shape runs:
 * a ClickHouse server over HTTP (distributed) or chDB in a local folder through
 * `chdb/connection` (embedded). Every query, insert and migration is written once against
 * that client; both shapes get the configured database as the default for unqualified names.
 *
 * chDB facts this module and its callers rely on (measured with chdb 3.4 / ClickHouse 26.7):
 * - the chDB connection ignores the client's `database` option; the default database is
 *   session state, set here with `USE` once the database exists;
 * - `clickhouse_settings` become `SET …` statements on the chDB session and stay in force for
 *   every later query of the process. Never pass per-call `clickhouse_settings` that must not
 *   outlive the call (an `insert_deduplication_token` would silently drop later inserts):
 *   put them in the statement's own `SETTINGS` clause instead;
 * - a statement that fails after producing rows leaves them in the session, and the next
 *   statement of that connection — whichever it is — answers them ahead of its own rows
 *   (`SELECT … throwIf(…)` over 10M numbers: the next `SELECT 42` returned 4.9M rows; two such
 *   failures, both sets). `guardChdb` below cleans up after every failure.
 */
import { mkdirSync } from 'node:fs';
import { type ClickHouseClient, type ClickHouseClientConfigOptions, createClient, parseError } from '@clickhouse/client';
import { type ChdbConnection, createChdbConnection } from 'chdb/connection';
import type { Config } from '../config.ts';

export type { ClickHouseClient };

/** Where the events live: `config.clickhouse`. */
export type ClickhouseConfig = Config['clickhouse'];

/** A database name we are willing to put into SQL text (same rule as server/config.ts). */
export function assertDatabaseName(name: string): void {
  if (!/^\w+$/.test(name)) throw new Error(`invalid ClickHouse database name: ${JSON.stringify(name)}`);
}

/**
 * Opens a client on `cfg` and makes sure its database exists (so it can be the default):
 * chDB — creates the folder, the database, then `USE`s it; HTTP — creates the database with a
 * short-lived client without a default database, then returns one with it. Schema comes
 * later, from `migrateClickhouse`. The caller owns the client and must `close()` it (for chDB
 * that releases the folder lock).
 */
export async function createClickhouse(cfg: ClickhouseConfig): Promise<ClickHouseClient> {
  assertDatabaseName(cfg.database);
  const createDb = `CREATE DATABASE IF NOT EXISTS ${cfg.database}`;
  if (cfg.kind === 'chdb') {
    mkdirSync(cfg.dir, { recursive: true });
    // chdb 3.4 types its connection against @clickhouse/client-common 1.23.0, the client
    // 1.23.1 against its bundled copy; same contract at runtime, nominally different types.
    const chdb = guardChdb(createChdbConnection({ path: cfg.dir }));
    const connection = chdb as unknown as ClickHouseClientConfigOptions['connection'];
    const ch = createClient({ connection });
    rawInserts.set(ch, chdb);
    try {
      await ch.command({ query: createDb });
      await ch.command({ query: `USE ${cfg.database}` });
    } catch (err) {
      await ch.close();
      throw err;
    }
    return ch;
  }
  const base = { url: cfg.url, username: cfg.username, password: cfg.password, application: 'livepanel' };
  const bootstrap = createClient(base);
  try {
    await bootstrap.command({ query: createDb });
  } finally {
    await bootstrap.close();
  }
  return createClient({ ...base, database: cfg.database });
}

/** The chDB connection behind each client `createClickhouse` opened on chDB. */
const rawInserts = new WeakMap<ClickHouseClient, ChdbConnection>();

/** One insert of `body`, rows already in `format`, into `table`'s `columns`. */
export interface BytesInsert {
  table: string;
  columns: readonly string[];
  format: 'JSONCompactEachRow';
  body: Buffer;
  /** The insert's own settings (its statement's SETTINGS clause: nothing outlives it). */
  settings: Record<string, string | number>;
}

/**
 * Inserts bytes already encoded in an input format. On chDB the buffer goes to the engine as
 * it is (the connection's raw insert: no JS string of the rows, no copy); errors carry the
 * same ClickHouse code and type as the client's. On a server it is one statement with the
 * body appended, as the client sends it.
 */
export async function insertBytes(ch: ClickHouseClient, p: BytesInsert): Promise<void> {
  const chdb = rawInserts.get(ch);
  if (chdb) {
    try {
      await chdb.chdb.rawInsert({ table: p.table, columns: [...p.columns], format: p.format, values: p.body, settings: p.settings });
    } catch (err) {
      throw toClickHouseError(err);
    }
    return;
  }
  const settings = Object.entries(p.settings).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : sqlString(v)}`);
  const head = `INSERT INTO ${p.table} (${p.columns.join(', ')}) SETTINGS ${settings.join(', ')} FORMAT ${p.format}\n`;
  await ch.command({ query: head + p.body.toString('utf8') });
}

/** A ClickHouse string literal of `s`. */
export const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** chDB's insert error as the client's (`code`, `type`: what the insert's callers test). */
function toClickHouseError(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const mapped = parseError(err.message);
  if (mapped !== err) mapped.cause = err;
  return mapped;
}

/** What the cleanup statement answers when nothing is left over from a failed statement. */
const CLEAN = 'livepanel_clean';
const SERIAL = new Set(['query', 'exec', 'command', 'insert', 'ping']);

/**
 * The chDB connection with its calls run one at a time and, after any call fails, a cleanup
 * statement run before the next: `SELECT 'livepanel_clean'`, again until its answer is only
 * that row, so the rows a failed statement produced go nowhere. One at a time costs nothing:
 * chDB runs one statement at a time per connection anyway (two 160 ms statements issued
 * together took 315 ms), and calls already waiting must not run before the cleanup.
 */
export function guardChdb(conn: ChdbConnection): ChdbConnection {
  let tail: Promise<unknown> = Promise.resolve();
  async function clean(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      try {
        const { stream } = await conn.query({ query: `SELECT '${CLEAN}' FORMAT TabSeparated` });
        let text = '';
        for await (const chunk of stream) text += String(chunk);
        if (text === `${CLEAN}\n`) return;
      } catch {
        return; // the connection is closed or broken: nothing more to answer on it
      }
    }
  }
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(run);
    tail = result.then(() => undefined, clean);
    return result;
  };
  // The raw insert of `.chdb` runs on the same connection: in turn with the rest.
  const ext = conn.chdb;
  const chdb: typeof ext = { ...ext, rawInsert: (params) => serial(() => ext.rawInsert(params)) };
  return new Proxy(conn, {
    get(target, prop) {
      if (prop === 'chdb') return chdb;
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      // Methods read the connection's private fields: call them on the connection itself.
      if (typeof prop === 'string' && SERIAL.has(prop)) return (...args: unknown[]) => serial(() => value.apply(target, args));
      return value.bind(target);
    },
  });
}
