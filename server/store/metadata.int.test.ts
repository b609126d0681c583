// The metadata repository against both real shapes: PGlite in a temp folder and the local
// PostgreSQL server (a fresh database per run). Same suite, same migrations.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pgSchema, serial, text } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../tests/support/postgres.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { createMetadata, type Metadata, verifySecret } from './metadata.ts';
import { type OpenMetadataDb, openMetadataDb } from './postgres.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const journal = JSON.parse(readFileSync(new URL('../../db/migrations/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
const drizzleMigrations = pgSchema('drizzle').table('__drizzle_migrations', { id: serial('id').primaryKey(), hash: text('hash') });

interface Flavour {
  name: string;
  setup(): Promise<{ cfg: Config['postgres']; cleanup(): Promise<void> }>;
  /** opens twice at once (a server), or closes and reopens (PGlite: one process per folder) */
  openTwice(cfg: Config['postgres']): Promise<OpenMetadataDb>;
}

const flavours: Flavour[] = [
  {
    name: 'PGlite',
    async setup() {
      const dir = mkdtempSync(path.join(tmpdir(), 'lp-meta-'));
      return { cfg: { kind: 'pglite', dir: path.join(dir, 'pg') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
    async openTwice(cfg) {
      const first = await openMetadataDb(cfg);
      await createMetadata(first.db).createProject({ name: 'Before reopen', domain: 'reopen.example' });
      await first.close();
      return openMetadataDb(cfg);
    },
  },
  {
    name: 'PostgreSQL',
    async setup() {
      const tdb = await createTestDatabase();
      return { cfg: { kind: 'postgres', url: tdb.url }, cleanup: () => tdb.drop() };
    },
    async openTwice(cfg) {
      // Guards against two processes migrating one server at once (duplicate CREATE TYPE).
      const [a, b] = await Promise.all([openMetadataDb(cfg), openMetadataDb(cfg)]);
      await createMetadata(a.db).createProject({ name: 'Before reopen', domain: 'reopen.example' });
      await a.close();
      await b.close();
      return openMetadataDb(cfg);
    },
  },
];

describe.each(flavours)('metadata on $name', (flavour) => {
  let cleanup: () => Promise<void> = async () => {};
  let cfg: Config['postgres'];
  let handle: OpenMetadataDb | undefined;
  let md: Metadata;

  beforeAll(async () => {
    ({ cfg, cleanup } = await flavour.setup());
  });
  afterAll(async () => {
    await handle?.close();
    await cleanup();
  });

  it('applies the migrations on open, and again safely on a second open', async () => {
    handle = await flavour.openTwice(cfg);
    md = createMetadata(handle.db);
    const applied = await handle.db.select().from(drizzleMigrations);
    expect(applied).toHaveLength(journal.entries.length);
    const projects = await md.listProjects();
    expect(projects.map((p) => p.name)).toEqual(['Before reopen']);
    expect(handle.kind).toBe(cfg.kind);
  });

  it('creates a project with a root client allowed on its domain', async () => {
    const created = await md.createProject({ name: 'Shop', domain: 'https://www.shop.example/' });
    expect(created.projectId).toMatch(/^[a-z2-9]{12}$/);
    expect(created.clientId).toMatch(UUID);
    expect(created.clientSecret).toMatch(/^sec_[A-Za-z0-9_-]{43}$/);

    const client = await md.getClient(created.clientId);
    expect(client).toEqual({
      id: created.clientId,
      projectId: created.projectId,
      type: 'root',
      secretHash: createHash('sha256').update(created.clientSecret).digest('hex'),
      allowedOrigins: ['shop.example'],
      disabled: false,
    });
    const project = (await md.listProjects()).find((p) => p.id === created.projectId);
    expect(project).toMatchObject({ name: 'Shop', domain: 'shop.example', clients: [{ id: created.clientId, type: 'root' }] });
  });

  it('rejects a project whose domain is not a host', async () => {
    await expect(md.createProject({ name: 'Bad', domain: 'not a domain' })).rejects.toMatchObject({ status: 400, code: 'invalid_body' });
    await expect(md.createProject({ name: 'Bad', domain: '*' })).rejects.toMatchObject({ status: 400, code: 'invalid_body' });
  });

  it('verifies secrets against the stored hash, and only the right one', async () => {
    const { clientId, clientSecret } = await md.createProject({ name: 'Secrets', domain: 'secrets.example' });
    const hash = (await md.getClient(clientId))?.secretHash ?? '';
    expect(verifySecret(clientSecret, hash)).toBe(true);
    expect(verifySecret(`${clientSecret}x`, hash)).toBe(false);
    expect(verifySecret(clientSecret.slice(0, -1), hash)).toBe(false);
    expect(verifySecret(clientSecret, 'not-a-hash')).toBe(false);
    const other = await md.createProject({ name: 'Other', domain: 'other.example' });
    expect(verifySecret(other.clientSecret, hash)).toBe(false);
  });

  it('creates clients with normalized, de-duplicated origins, and 404s for unknown projects', async () => {
    const { projectId } = await md.createProject({ name: 'Clients', domain: 'clients.example' });
    const c = await md.createClient({ projectId, type: 'write', origins: ['https://www.app.example/', 'app.example', '*.CDN.example'] });
    expect(c.clientId).toMatch(UUID);
    expect(await md.getClient(c.clientId)).toMatchObject({ projectId, type: 'write', allowedOrigins: ['app.example', '*.cdn.example'] });

    const r = await md.createClient({ projectId, type: 'read', origins: [], name: 'Dashboard TV' });
    const listed = (await md.listProjects()).find((p) => p.id === projectId);
    expect(listed?.clients.map((x) => [x.type, x.name])).toEqual([
      ['root', 'Root'],
      ['write', 'Write client'],
      ['read', 'Dashboard TV'],
    ]);
    expect(listed?.clients.find((x) => x.id === r.clientId)?.allowedOrigins).toEqual([]);

    const missing = md.createClient({ projectId: 'nosuchproject', type: 'write', origins: [] });
    await expect(missing).rejects.toBeInstanceOf(AppError);
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(md.createClient({ projectId, type: 'write', origins: ['bad origin'] })).rejects.toMatchObject({ code: 'invalid_body' });
  });

  it('never lists secrets or hashes', async () => {
    const { clientId, clientSecret } = await md.createProject({ name: 'Listing', domain: 'listing.example' });
    const hash = (await md.getClient(clientId))?.secretHash ?? '';
    const text = JSON.stringify(await md.listProjects());
    expect(text).toContain(clientId);
    expect(text).not.toContain(clientSecret);
    expect(text).not.toContain(hash);
    expect(text).not.toMatch(/"\w*(secret|hash)\w*":/i);
  });

  it('returns null for unknown and malformed client ids instead of failing the query', async () => {
    expect(await md.getClient('6f1c1e3e-8a40-4c59-9d7a-4b1f0f0f0f0f')).toBeNull();
    expect(await md.getClient('not-a-uuid')).toBeNull();
    expect(await md.getClient("'; drop table clients; --")).toBeNull();
  });

  it('disables clients', async () => {
    const { clientId, projectId } = await md.createProject({ name: 'Disable', domain: 'disable.example' });
    await md.disableClient(clientId);
    expect(await md.getClient(clientId)).toMatchObject({ disabled: true });
    await md.disableClient(clientId); // idempotent
    const listed = (await md.listProjects()).find((p) => p.id === projectId);
    expect(listed?.clients[0]?.disabled).toBe(true);
    await expect(md.disableClient('6f1c1e3e-8a40-4c59-9d7a-4b1f0f0f0f0f')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(md.disableClient('nope')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('hands every concurrent caller the same daily salts', async () => {
    const now = new Date('2031-03-04T23:59:59.999Z');
    // A second handle stands in for a second process (PostgreSQL only: PGlite is one process per folder).
    const second = cfg.kind === 'postgres' ? await openMetadataDb(cfg) : undefined;
    try {
      const mds = second ? [md, createMetadata(second.db)] : [md];
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (mds[i % mds.length] as Metadata).getSalts(now)));
      const first = results[0];
      for (const r of results) expect(r).toEqual(first);
      expect(first?.current).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(first?.previous).not.toBe(first?.current);
    } finally {
      await second?.close();
    }
    const again = await md.getSalts(new Date('2031-03-04T00:00:00.000Z'));
    const nextDay = await md.getSalts(new Date('2031-03-05T00:00:00.000Z'));
    expect(nextDay.previous).toBe(again.current);
    expect(nextDay.current).not.toBe(again.current);
  });

  it('deletes salts older than the previous day, keeping yesterday’s and today’s', async () => {
    // Guards against: salts never deleted, so every old cookieless device id stayed recomputable.
    for (const day of ['2032-01-01', '2032-01-05', '2032-01-09', '2032-01-10']) await md.getSalts(new Date(`${day}T12:00:00.000Z`));
    const jan5 = await md.getSalts(new Date('2032-01-05T12:00:00.000Z'));
    const today = await md.getSalts(new Date('2032-01-10T12:00:00.000Z'));
    const deleted = await md.pruneSalts(new Date('2032-01-10T12:00:00.000Z'));
    expect(deleted).toBeGreaterThanOrEqual(4); // Dec 31 … Jan 8 ones, and any older ones of other tests
    expect(await md.getSalts(new Date('2032-01-10T12:00:00.000Z'))).toEqual(today);
    expect(await md.pruneSalts(new Date('2032-01-10T12:00:00.000Z'))).toBe(0);
    // A day whose salt was deleted gets a new one if asked again: old ids do not come back.
    const jan5Again = await md.getSalts(new Date('2032-01-05T12:00:00.000Z'));
    expect(jan5Again.current).not.toBe(jan5.current);
  });
});
