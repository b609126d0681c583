/**
 * Opens the metadata database in either shape — PGlite in a local folder (embedded) or a
 * PostgreSQL server (distributed) — and brings its schema up to date with the migrations in
 * `db/migrations`. Callers get one `MetadataDb` type and never care which shape is behind it.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from '../../db/schema.ts';
import type { Config } from '../config.ts';

/** A drizzle database over the metadata schema; the same type for PGlite and PostgreSQL. */
export type MetadataDb = PgDatabase<PgQueryResultHKT, typeof schema>;

/** An open metadata database. `close()` releases the PGlite folder or the connection pool. */
export interface OpenMetadataDb {
  db: MetadataDb;
  kind: Config['postgres']['kind'];
  close(): Promise<void>;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../db/migrations', import.meta.url));

/**
 * Key of the session advisory lock held while migrating a PostgreSQL server: several
 * processes (ingest nodes, workers) start at once, and drizzle's migrator alone races
 * (two `CREATE TYPE` for the same migration). Arbitrary constant, "lpmigrat" in ASCII.
 */
const MIGRATION_LOCK_KEY = 0x6c706d6967726174n;

/** Opens (creating if needed) and migrates the metadata database described by `cfg`. */
export async function openMetadataDb(cfg: Config['postgres']): Promise<OpenMetadataDb> {
  return cfg.kind === 'pglite' ? openPglite(cfg.dir) : openPostgres(cfg.url);
}

/**
 * PGlite's server settings, on top of its own start parameters. The metadata (accounts,
 * projects, clients, boards) is a few megabytes read through caches, so PostgreSQL's defaults —
 * sized for a server with 100 connections and 128 MB of shared buffers — only cost resident
 * memory here: measured with bench/idle-memory.ts, shared_buffers 16 MB instead of 128 MB and
 * max_connections 4 instead of 100 (PGlite serves one connection) take ≈ 130 MB off PGlite's
 * resident size. Passed as start parameters so the folder's postgresql.conf stays initdb's.
 */
export const PGLITE_SETTINGS = ['shared_buffers=16MB', 'max_connections=4'];

/**
 * V8 compiles WebAssembly with its baseline compiler (Liftoff) and recompiles hot functions with
 * its optimizing one (TurboFan) in the background; for PGlite's 9 MB module that tier-up keeps
 * ≈ 60 MB more resident (compiled code and compiler memory the allocator does not give back;
 * bench/idle-memory.ts) and makes the first start (initdb) slower, for no measurable gain on
 * the metadata's small queries (3,000 point lookups: 1.4–2.1 s either way). The flag only
 * concerns WebAssembly — JavaScript is still optimized — and is read when a module compiles, so
 * it is set before PGlite's. Process-wide: the only other WebAssembly here is fetch's HTTP parser.
 */
const WASM_BASELINE_ONLY = '--liftoff-only';

async function openPglite(dir: string): Promise<OpenMetadataDb> {
  mkdirSync(dir, { recursive: true });
  v8.setFlagsFromString(WASM_BASELINE_ONLY);
  const startParams = [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((s) => ['-c', s])];
  const client = await PGlite.create(dir, { startParams });
  try {
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return { db: db as MetadataDb, kind: 'pglite', close: () => client.close() };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}

async function openPostgres(url: string): Promise<OpenMetadataDb> {
  await migratePostgresServer(url);
  const client = postgres(url, { onnotice: () => {} });
  const db = drizzlePostgres({ client, schema });
  return { db: db as MetadataDb, kind: 'postgres', close: () => client.end({ timeout: 5 }) };
}

/** Runs the migrations on one dedicated connection that holds the advisory lock throughout. */
async function migratePostgresServer(url: string): Promise<void> {
  const conn = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    await migratePostgres(drizzlePostgres({ client: conn }), { migrationsFolder: MIGRATIONS_FOLDER });
    await conn`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
  } finally {
    await conn.end({ timeout: 5 });
  }
}
