// The admin CLI as users run it: a real child process on a temp DATA_DIR (PGlite), against
// the local PostgreSQL server, and beside a "server" that holds the data lock.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../tests/support/postgres.ts';
import { acquireDataLock, type DataLock, LOCK_FILE } from '../data-lock.ts';
import type { Metadata } from '../store/metadata.ts';
import { type OpenMetadataDb, openMetadataDb } from '../store/postgres.ts';
import { handleAdminRequest, newAdminToken } from './admin-http.ts';
import { type AdminContext, adminContext } from './commands.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the given environment (so a DATABASE_URL of the caller never leaks in). */
function cli(env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  return cliWithInput(env, undefined, ...args);
}

/** The same, with `input` piped to the CLI's standard input. */
function cliWithInput(env: Record<string, string>, input: string | undefined, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'server/admin/cli.ts', ...args],
      { cwd: REPO, env: { LOG_LEVEL: 'silent', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

/** stdout must be exactly one JSON line */
function oneJsonLine(text: string): unknown {
  const lines = text.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '');
}

const tmpDirs: string[] = [];
function tempDataDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'lp-cli-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('admin CLI, embedded (PGlite, nobody holds the lock)', () => {
  const dataDir = tempDataDir();
  const env = { DATA_DIR: dataDir };
  let projectId = '';

  it('create-project prints one JSON line with the project, a UUID client id and a secret', async () => {
    const r = await cli(env, 'create-project', '--name', 'My Shop', '--domain', 'https://www.shop.example/');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = oneJsonLine(r.stdout) as Record<string, string>;
    expect(Object.keys(out).sort()).toEqual(['clientId', 'clientSecret', 'projectId']);
    expect(out.clientId).toMatch(UUID);
    expect(out.clientSecret).toMatch(/^sec_/);
    projectId = out.projectId ?? '';
    // the CLI held the lock only while it worked
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  });

  it('create-client adds a client with several origins', async () => {
    const r = await cli(env, 'create-client', '--project', projectId, '--type', 'write', '--origin', 'app.shop.example', '--origin', '*.cdn.example');
    expect(r.code).toBe(0);
    const out = oneJsonLine(r.stdout) as Record<string, string>;
    expect(Object.keys(out).sort()).toEqual(['clientId', 'clientSecret']);
    expect(out.clientId).toMatch(UUID);
  });

  it('list-projects shows the project and its clients, without secrets', async () => {
    const r = await cli(env, 'list-projects');
    expect(r.code).toBe(0);
    const list = oneJsonLine(r.stdout) as Array<{ id: string; domain: string; clients: Array<{ type: string; allowedOrigins: string[] }> }>;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: projectId, domain: 'shop.example' });
    expect(list[0]?.clients.map((c) => [c.type, c.allowedOrigins])).toEqual([
      ['root', ['shop.example']],
      ['write', ['app.shop.example', '*.cdn.example']],
    ]);
    expect(r.stdout).not.toMatch(/sec_|secret|hash/i);
  });

  it('create-user: the first user owns the organisation of existing projects; the password comes from stdin or is generated once', {
    timeout: 240_000,
  }, async () => {
    const first = await cliWithInput(env, 'a long enough password\n', 'create-user', '--email', 'Owner@Shop.example', '--password-stdin');
    expect(first.stderr).toBe('');
    const owner = oneJsonLine(first.stdout) as Record<string, string>;
    expect(owner).toMatchObject({ email: 'owner@shop.example', role: 'owner' });
    expect(owner.password).toBeUndefined();
    const projects = oneJsonLine((await cli(env, 'list-projects')).stdout) as Array<{ orgId: string }>;
    expect(projects[0]?.orgId).toBe(owner.orgId);

    const second = oneJsonLine((await cli(env, 'create-user', '--email', 'viewer@shop.example', '--role', 'viewer')).stdout) as Record<string, string>;
    expect(second).toMatchObject({ role: 'viewer', orgId: owner.orgId });
    expect(second.password).toMatch(/^[\w-]{20,}$/);

    const dup = await cli(env, 'create-user', '--email', 'viewer@shop.example');
    expect(oneJsonLine(dup.stderr)).toMatchObject({ error: { code: 'conflict' } });
    const short = await cliWithInput(env, 'short\n', 'create-user', '--email', 'x@shop.example', '--password-stdin');
    expect(oneJsonLine(short.stderr)).toMatchObject({ error: { code: 'invalid_body' } });

    const reset = oneJsonLine((await cli(env, 'reset-password', '--email', 'viewer@shop.example')).stdout) as Record<string, unknown>;
    expect(reset).toMatchObject({ email: 'viewer@shop.example', sessionsEnded: 0 });
    expect(reset.password).toEqual(expect.any(String));
    expect(oneJsonLine((await cli(env, 'reset-password', '--email', 'nobody@shop.example')).stderr)).toMatchObject({ error: { code: 'not_found' } });

    const users = oneJsonLine((await cli(env, 'list-users')).stdout) as Array<{ email: string; memberships: Array<{ role: string }> }>;
    expect(users.map((u) => [u.email, u.memberships.map((m) => m.role)])).toEqual([
      ['owner@shop.example', ['owner']],
      ['viewer@shop.example', ['viewer']],
    ]);
    expect(JSON.stringify(users)).not.toMatch(/argon2|hash|password/i);
  });

  it.each([
    [['create-project', '--name', 'No domain'], 'invalid_body'],
    [['create-client', '--project', 'x', '--type', 'admin'], 'invalid_body'],
    [['create-project', '--name', 'N', '--domain', 'd.example', '--bogus'], 'invalid_body'],
    [['create-project', '--name', 'N', '--domain', 'not a domain'], 'invalid_body'],
    [['create-client', '--project', 'x', '--type', 'read', '--origin', 'a.example', '--origin', 'bad origin'], 'invalid_body'],
    [['create-client', '--project', 'nosuchproject', '--type', 'read'], 'not_found'],
    [['frobnicate'], 'not_found'],
    [[], 'invalid_body'],
  ])('%j fails with a JSON error (%s) and a non-zero exit', { concurrent: true }, async (args, code) => {
    const r = await cli(env, ...args);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(oneJsonLine(r.stderr)).toMatchObject({ error: { code, message: expect.any(String) } });
  });
});

describe('admin CLI, embedded, while a server holds the data lock', () => {
  it('refuses when the holder does not answer, without touching PGlite', async () => {
    const dataDir = tempDataDir();
    // the test process is alive; nothing listens on port 1
    const lock = acquireDataLock(dataDir, { port: 1, adminToken: 'x' });
    try {
      const r = await cli({ DATA_DIR: dataDir }, 'list-projects');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const err = oneJsonLine(r.stderr) as { error: { message: string } };
      expect(err.error.message).toContain(`pid ${process.pid}`);
      expect(err.error.message).toMatch(/does not answer/);
      expect(existsSync(path.join(dataDir, 'pg'))).toBe(false);
      expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, port: 1 });
    } finally {
      lock.release();
    }
  });

  describe('with a live admin endpoint', () => {
    const dataDir = tempDataDir();
    const token = newAdminToken();
    let handle: OpenMetadataDb;
    let md: Metadata;
    let admin: AdminContext;
    let lock: DataLock;
    let server: Server;

    beforeAll(async () => {
      lock = acquireDataLock(dataDir, { port: 0, adminToken: token });
      handle = await openMetadataDb({ kind: 'pglite', dir: path.join(dataDir, 'pg') });
      admin = adminContext(handle.db);
      md = admin.metadata;
      // a stand-in for the uWS route the lead mounts: same handler, plain node:http
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => {
          body += c.toString('utf8');
        });
        req.on('end', async () => {
          const command = (req.url ?? '').replace(/^\/api\/admin\//, '');
          const header = req.headers['x-livepanel-admin-token'];
          const out = await handleAdminRequest(admin, token, command, typeof header === 'string' ? header : undefined, body);
          res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.body));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      lock.update({ port: (server.address() as AddressInfo).port });
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
      await handle.close();
      lock.release();
    });

    it('sends the command to the server, which writes it', async () => {
      const r = await cli({ DATA_DIR: dataDir }, 'create-project', '--name', 'Remote', '--domain', 'remote.example');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = oneJsonLine(r.stdout) as { projectId: string; clientId: string };
      expect(out.clientId).toMatch(UUID);
      const projects = await md.listProjects();
      expect(projects.map((p) => p.id)).toEqual([out.projectId]);
    });

    it('relays the server error as the CLI error', async () => {
      const r = await cli({ DATA_DIR: dataDir }, 'create-client', '--project', 'nosuchproject', '--type', 'write');
      expect(r.code).toBe(1);
      expect(oneJsonLine(r.stderr)).toMatchObject({ error: { code: 'not_found' } });
    });

    it('the endpoint checks the token, the command and the body', async () => {
      expect(await handleAdminRequest(admin, token, 'list-projects', undefined, '')).toMatchObject({ status: 401, body: { error: { code: 'bad_secret' } } });
      expect(await handleAdminRequest(admin, token, 'list-projects', `${token}x`, '')).toMatchObject({ status: 401 });
      expect(await handleAdminRequest(admin, token, 'list-projects', token.slice(1), '')).toMatchObject({ status: 401 });
      expect(await handleAdminRequest(admin, '', 'list-projects', '', '')).toMatchObject({ status: 401 });
      // the token is checked before the command name is revealed
      expect(await handleAdminRequest(admin, token, 'drop-everything', 'wrong', '{}')).toMatchObject({ status: 401 });
      expect(await handleAdminRequest(admin, token, 'drop-everything', token, '{}')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
      expect(await handleAdminRequest(admin, token, 'create-project', token, '{"name":')).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_json' } },
      });
      expect(await handleAdminRequest(admin, token, 'create-project', token, '{"name":"x"}')).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_body' } },
      });
      const ok = await handleAdminRequest(admin, token, 'list-projects', token, '');
      expect(ok.status).toBe(200);
      expect(Array.isArray(ok.body)).toBe(true);
    });
  });
});

describe('admin CLI, distributed (DATABASE_URL)', () => {
  let tdb: TestDatabase;
  const dataDir = tempDataDir();
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('talks to PostgreSQL directly, with no data lock and no PGlite folder', async () => {
    const env = { DATABASE_URL: tdb.url, DATA_DIR: dataDir };
    const created = await cli(env, 'create-project', '--name', 'PG', '--domain', 'pg.example');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const { projectId } = oneJsonLine(created.stdout) as { projectId: string };
    const listed = await cli(env, 'list-projects');
    expect((oneJsonLine(listed.stdout) as Array<{ id: string }>).map((p) => p.id)).toEqual([projectId]);
    expect(existsSync(path.join(dataDir, 'pg'))).toBe(false);
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  });
});
