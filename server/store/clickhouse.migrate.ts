/**
 * Brings the ClickHouse schema up to date: applies `db/clickhouse/NNN_name.sql` files in
 * numeric order and records each in `schema_migrations`. Safe to run at every start and from
 * several processes: every statement is `IF NOT EXISTS`, so a file interrupted half-way is
 * simply applied again. A recorded file whose text changed afterwards stops the start-up —
 * add a new file instead of editing an applied one.
 *
 * Files may hold several `;`-separated statements and use `{database}` where the database
 * name goes; the runner substitutes it, so the same files serve chDB and a ClickHouse server.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertDatabaseName, type ClickHouseClient } from './clickhouse.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../db/clickhouse', import.meta.url));
const FILE_NAME = /^(\d+)_[\w-]+\.sql$/;

/** One migration file. */
export interface ClickhouseMigration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

/** What a run did: the file names applied now, in order (empty when already up to date). */
export interface MigrateResult {
  applied: string[];
}

/** Reads and orders the migration files of `dir` (default `db/clickhouse`). */
export function loadMigrations(dir = MIGRATIONS_DIR): ClickhouseMigration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  const out: ClickhouseMigration[] = [];
  for (const name of files) {
    const m = FILE_NAME.exec(name);
    if (!m) throw new Error(`clickhouse migration ${name}: name must look like 001_events.sql`);
    const text = readFileSync(path.join(dir, name), 'utf8');
    const checksum = createHash('sha256').update(text).digest('hex');
    out.push({ version: Number(m[1]), name, checksum, statements: splitStatements(text) });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) {
      throw new Error(`clickhouse migrations ${out[i - 1]!.name} and ${out[i]!.name} share a number`);
    }
  }
  return out;
}

/**
 * Creates `database` and `schema_migrations` if needed, then applies every migration not yet
 * recorded, statement by statement, recording each file after its last statement succeeded.
 */
export async function migrateClickhouse(ch: ClickHouseClient, database: string, dir?: string): Promise<MigrateResult> {
  assertDatabaseName(database);
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await ch.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = MergeTree ORDER BY version`,
  });
  const rs = await ch.query({
    query: `SELECT version, any(name) AS name, any(checksum) AS checksum
      FROM ${database}.schema_migrations GROUP BY version`,
    format: 'JSONEachRow',
  });
  const done = new Map((await rs.json<{ version: number; name: string; checksum: string }>()).map((r) => [r.version, r]));
  const applied: string[] = [];
  for (const m of loadMigrations(dir)) {
    const prev = done.get(m.version);
    if (prev) {
      if (prev.checksum !== m.checksum) {
        throw new Error(`clickhouse migration ${m.name} changed after it was applied (as ${prev.name}); add a new file instead`);
      }
      continue;
    }
    for (const sql of m.statements) {
      try {
        await ch.command({ query: sql.replaceAll('{database}', database) });
      } catch (err) {
        throw new Error(`clickhouse migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    await ch.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: 'JSONEachRow',
    });
    applied.push(m.name);
  }
  return { applied };
}

/**
 * Splits SQL text on `;` outside quotes ('…', "…", `…`) and comments (-- …, /* … *\/), and drops
 * statements that are empty or only comments.
 */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let hasCode = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      cur += text.slice(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      cur += text.slice(i, stop);
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      cur += text.slice(i, j + 1);
      hasCode = true;
      i = j + 1;
    } else if (c === ';') {
      if (hasCode) out.push(cur.trim());
      cur = '';
      hasCode = false;
      i++;
    } else {
      if (!/\s/.test(c)) hasCode = true;
      cur += c;
      i++;
    }
  }
  if (hasCode) out.push(cur.trim());
  return out;
}
