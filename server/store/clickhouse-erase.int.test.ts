// Deleting a project erases its analytics from ClickHouse (chDB) durably, with the metadata
// store of each shape (PGlite in a temp folder, the local PostgreSQL in a fresh database): the
// delete records the erase as owed in the same transaction; an eraser that dies mid-way (its
// ClickHouse stops answering after the first table) leaves the record; a new eraser's replay at
// start finishes the erase on every table — rollups included — and drops the record, leaving
// other projects' rows alone.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../tests/support/postgres.ts';
import type { Config } from '../config.ts';
import { silentLogger } from '../log.ts';
import { makeEvents, makeSession } from './clickhouse.fixtures.ts';
import { migrateClickhouse } from './clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from './clickhouse.ts';
import { createProjectEraser, projectTables } from './clickhouse-erase.ts';
import { createMetadata, type Metadata } from './metadata.ts';
import { type OpenMetadataDb, openMetadataDb } from './postgres.ts';
import { createWriter } from './writer.ts';

const DB = 'lp_erase';
let dir: string;
let ch: ClickHouseClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-erase-int-'));
  ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: DB });
  await migrateClickhouse(ch, DB);
}, 120_000);

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Rows of `projectId` in every project table (only tables that have some). */
async function rowsOf(projectId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of await projectTables(ch)) {
    const rs = await ch.query({
      query: `SELECT count() AS n FROM ${table} WHERE project_id = {p:String}`,
      query_params: { p: projectId },
      format: 'JSONEachRow',
    });
    const n = Number((await rs.json<{ n: number | string }>())[0]!.n);
    if (n > 0) out[table] = n;
  }
  return out;
}

async function seed(projectId: string, from: number): Promise<void> {
  await createWriter(ch).write(
    {
      events: makeEvents(20, from, { project_id: projectId }),
      sessions: [makeSession(`s-${projectId}`, { project_id: projectId })],
      profiles: [],
      groups: [],
      replays: [],
    },
    `erase-seed-${projectId}`,
  );
}

/** A ClickHouse client whose commands stop answering after the first one: the process "dies" mid-erase. */
function dyingAfterFirstCommand(real: ClickHouseClient): ClickHouseClient {
  let commands = 0;
  return new Proxy(real, {
    get(target, key) {
      if (key !== 'command') return Reflect.get(target, key);
      return (...args: Parameters<ClickHouseClient['command']>) => (++commands === 1 ? target.command(...args) : new Promise(() => {}));
    },
  });
}

interface Flavour {
  name: string;
  setup(): Promise<{ cfg: Config['postgres']; cleanup(): Promise<void> }>;
}

const flavours: Flavour[] = [
  {
    name: 'PGlite',
    async setup() {
      const pgDir = mkdtempSync(path.join(os.tmpdir(), 'lp-erase-pg-'));
      return { cfg: { kind: 'pglite', dir: path.join(pgDir, 'pg') }, cleanup: async () => rmSync(pgDir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async setup() {
      const tdb = await createTestDatabase();
      return { cfg: { kind: 'postgres', url: tdb.url }, cleanup: () => tdb.drop() };
    },
  },
];

describe.each(flavours)('erasing a deleted project with metadata on $name', (flavour) => {
  let handle: OpenMetadataDb;
  let metadata: Metadata;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const s = await flavour.setup();
    cleanup = s.cleanup;
    handle = await openMetadataDb(s.cfg);
    metadata = createMetadata(handle.db);
  }, 120_000);

  afterAll(async () => {
    await handle?.close();
    await cleanup?.();
  });

  it('finishes after the process died mid-way: the owed erase is replayed at start', async () => {
    const gone = await metadata.createProject({ name: `Gone ${flavour.name}`, domain: 'gone.example' });
    const kept = await metadata.createProject({ name: `Kept ${flavour.name}`, domain: 'kept.example' });
    await seed(gone.projectId, 0);
    await seed(kept.projectId, 100);
    const before = await rowsOf(gone.projectId);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['events', 'sessions', 'events_hourly', 'events_daily']));
    const keptBefore = await rowsOf(kept.projectId);

    // The delete records the erase as owed, in its own transaction.
    await metadata.deleteProject(gone.projectId);
    expect((await metadata.pendingErasures()).map((e) => e.projectId)).toEqual([gone.projectId]);

    // The first eraser gets one table done, then its ClickHouse never answers again (the process dies).
    const dying = createProjectEraser({ ch: dyingAfterFirstCommand(ch), store: metadata, log: silentLogger });
    void dying.erase(gone.projectId);
    await expect.poll(async () => Object.keys(await rowsOf(gone.projectId)).length, { timeout: 60_000 }).toBe(Object.keys(before).length - 1);
    expect((await metadata.pendingErasures()).map((e) => e.projectId)).toEqual([gone.projectId]);

    // The next start replays what is owed: every table erased, the record gone, the other project untouched.
    const next = createProjectEraser({ ch, store: metadata, log: silentLogger });
    expect(await next.replay()).toBe(1);
    expect(await rowsOf(gone.projectId)).toEqual({});
    expect(await metadata.pendingErasures()).toEqual([]);
    expect(await rowsOf(kept.projectId)).toEqual(keptBefore);
  }, 180_000);

  it('keeps the erase owed while ClickHouse fails, counting attempts, and erases once it answers', async () => {
    const p = await metadata.createProject({ name: `Retry ${flavour.name}`, domain: 'retry.example' });
    await seed(p.projectId, 200);
    await metadata.deleteProject(p.projectId);
    const failing = new Proxy(ch, {
      get: (target, key) => (key === 'command' ? () => Promise.reject(new Error('ClickHouse unavailable')) : Reflect.get(target, key)),
    });
    const eraser = createProjectEraser({ ch: failing, store: metadata, log: silentLogger });
    expect(await eraser.erase(p.projectId)).toBe(false);
    expect(await eraser.replay()).toBe(0);
    expect(await metadata.pendingErasures()).toEqual([{ projectId: p.projectId, attempts: 2, lastError: 'ClickHouse unavailable' }]);
    expect(await createProjectEraser({ ch, store: metadata, log: silentLogger }).replay()).toBe(1);
    expect(await rowsOf(p.projectId)).toEqual({});
    expect(await metadata.pendingErasures()).toEqual([]);
  }, 180_000);

  it('owes nothing for a project that does not exist', async () => {
    await expect(metadata.deleteProject('no-such-project')).rejects.toMatchObject({ status: 404 });
    expect(await metadata.pendingErasures()).toEqual([]);
  });
});
