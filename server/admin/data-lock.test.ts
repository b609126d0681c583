// The DATA_DIR lock that keeps a second process off the embedded PGlite/chDB folders.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDataLock, DataLockHeldError, isProcessAlive, LOCK_FILE, readDataLock } from '../data-lock.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MODULE = fileURLToPath(new URL('../data-lock.ts', import.meta.url));
let dir: string;
let lockPath: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lp-lock-'));
  lockPath = path.join(dir, LOCK_FILE);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** pid of a process that has already exited */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (!r.pid || isProcessAlive(r.pid)) throw new Error('could not get a dead pid');
  return r.pid;
}

function writeLock(info: object): void {
  writeFileSync(lockPath, JSON.stringify(info), { mode: 0o600 });
}

describe('data lock', () => {
  it('creates a 0600 lock file naming this process, port and token', () => {
    const lock = acquireDataLock(dir, { port: 4321, adminToken: 'tok' });
    const info = JSON.parse(readFileSync(lockPath, 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, port: 4321, adminToken: 'tok' });
    expect(Number.isNaN(Date.parse(info.startedAt))).toBe(false);
    expect(statSync(lockPath).mode & 0o777).toBe(0o600);
    expect(readDataLock(dir)).toEqual(info);
    lock.release();
    expect(existsSync(lockPath)).toBe(false);
    expect(readDataLock(dir)).toBeNull();
    lock.release(); // idempotent
  });

  it('creates DATA_DIR when it does not exist yet', () => {
    const nested = path.join(dir, 'a', 'b');
    acquireDataLock(nested, { port: 1, adminToken: 't' }).release();
    expect(existsSync(nested)).toBe(true);
  });

  it('refuses while a live process holds it, naming the holder pid, and leaves the lock alone', () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? 0;
      writeLock({ pid, port: 9, adminToken: 'theirs', startedAt: new Date().toISOString() });
      let caught: unknown;
      try {
        acquireDataLock(dir, { port: 1, adminToken: 'mine' });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DataLockHeldError);
      expect((caught as Error).message).toContain(String(pid));
      expect((caught as DataLockHeldError).holder).toMatchObject({ pid, port: 9, adminToken: 'theirs' });
      expect(readDataLock(dir)?.adminToken).toBe('theirs');
    } finally {
      child.kill();
    }
  });

  it('refuses a second acquire from the same live process', () => {
    const lock = acquireDataLock(dir, { port: 1, adminToken: 'a' });
    expect(() => acquireDataLock(dir, { port: 2, adminToken: 'b' })).toThrow(String(process.pid));
    lock.release();
  });

  it('takes over a lock whose pid is dead', () => {
    writeLock({ pid: deadPid(), port: 9, adminToken: 'old', startedAt: '2020-01-01T00:00:00.000Z' });
    const lock = acquireDataLock(dir, { port: 5, adminToken: 'new' });
    expect(readDataLock(dir)).toMatchObject({ pid: process.pid, port: 5, adminToken: 'new' });
    expect(statSync(lockPath).mode & 0o777).toBe(0o600);
    lock.release();
  });

  it('takes over an unreadable lock file', () => {
    writeFileSync(lockPath, '{not json');
    acquireDataLock(dir, { port: 5, adminToken: 'new' }).release();
  });

  it('updates port and token in place, and release does not delete a lock that is no longer ours', () => {
    const lock = acquireDataLock(dir, { port: 0, adminToken: 'a' });
    lock.update({ port: 3456 });
    expect(readDataLock(dir)).toMatchObject({ pid: process.pid, port: 3456, adminToken: 'a' });
    expect(statSync(lockPath).mode & 0o777).toBe(0o600);
    writeLock({ pid: process.pid, port: 1, adminToken: 'someone-else', startedAt: new Date().toISOString() });
    lock.release();
    expect(readDataLock(dir)?.adminToken).toBe('someone-else');
    expect(() => lock.update({ port: 1 })).toThrow(/no longer held/);
  });

  it('lets exactly one of several processes racing for a stale lock win', async () => {
    writeLock({ pid: deadPid(), port: 9, adminToken: 'old', startedAt: '2020-01-01T00:00:00.000Z' });
    // Every child loads first, then all try at the same instant; the winner keeps holding
    // while the others try, so a late loser cannot see the winner's lock as stale.
    const startAt = Date.now() + 4000;
    const script = `
      import { acquireDataLock } from ${JSON.stringify(MODULE)};
      while (Date.now() < ${startAt});
      try { acquireDataLock(${JSON.stringify(dir)}, { port: 1, adminToken: String(process.pid) }); console.log('won'); }
      catch { console.log('lost'); }
      setTimeout(() => {}, 3000);`;
    const run = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO }).then((r) => r.stdout.trim());
    const outcomes = await Promise.all(Array.from({ length: 6 }, run));
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'lost')).toHaveLength(5);
  });
});
