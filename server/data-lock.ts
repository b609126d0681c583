/**
 * The data-folder lock: PGlite and chDB silently lose writes when two processes open one
 * folder, so whoever opens DATA_DIR (the server, or the admin CLI when no server runs) first
 * holds `DATA_DIR/livepanel.lock`. The file also tells the admin CLI where the holding server's
 * admin listener is and which token it wants. A lock whose pid is gone is stale.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const LOCK_FILE = 'livepanel.lock';
const TAKEOVER_FILE = 'livepanel.lock.takeover';
/** A takeover marker older than this was left by a process that died mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

const LockInfo = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(0).max(65535),
  adminToken: z.string(),
  startedAt: z.string(),
});
/**
 * Contents of the lock file. `port` is the holder's loopback-only admin listener
 * (`127.0.0.1:port`); 0 while it has none (a server starting, or the CLI itself).
 */
export type DataLockInfo = z.infer<typeof LockInfo>;

/** Thrown when a live process holds the lock; `holder` says who and where. */
export class DataLockHeldError extends Error {
  constructor(
    readonly holder: DataLockInfo,
    readonly lockPath: string,
  ) {
    super(
      `${path.dirname(lockPath)} is in use by process ${holder.pid} (since ${holder.startedAt}, lock ${lockPath}). ` +
        `Stop that process first; if pid ${holder.pid} is not Livepanel, delete the lock file.`,
    );
    this.name = 'DataLockHeldError';
  }
}

/** A held lock. */
export interface DataLock {
  readonly path: string;
  readonly info: DataLockInfo;
  /** Rewrites port/token (e.g. once the real listening port is known); throws if no longer held. */
  update(patch: Partial<Pick<DataLockInfo, 'port' | 'adminToken'>>): void;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The current lock file contents, or null when there is none (or it is unreadable). */
export function readDataLock(dataDir: string): DataLockInfo | null {
  return readLockFile(path.join(dataDir, LOCK_FILE));
}

function readLockFile(file: string): DataLockInfo | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = LockInfo.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Writes `info` to a private temp file and hard-links it to `file`: atomic create-if-absent with full contents. */
function linkNewLock(file: string, info: DataLockInfo): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info), { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Replaces a stale lock while holding the takeover marker, so two processes that both saw
 * the same dead holder cannot both end up "holding" the lock.
 */
function takeOverStale(dataDir: string, file: string, info: DataLockInfo): void {
  const marker = path.join(dataDir, TAKEOVER_FILE);
  try {
    fs.writeFileSync(marker, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = Date.now() - (fs.statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    if (age > TAKEOVER_STALE_MS) fs.rmSync(marker, { force: true });
    throw new Error(`another process is taking over the stale lock ${file}; try again`);
  }
  try {
    const current = readLockFile(file);
    if (current && isProcessAlive(current.pid)) throw new DataLockHeldError(current, file);
    fs.rmSync(file, { force: true });
    if (!linkNewLock(file, info)) {
      // someone created a fresh lock the plain way in the moment the stale one was gone
      const holder = readLockFile(file);
      throw holder ? new DataLockHeldError(holder, file) : new Error(`could not take the data lock ${file}; try again`);
    }
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

/**
 * Takes `DATA_DIR/livepanel.lock` (mode 0600) for this process, replacing a stale one.
 * Throws DataLockHeldError, naming the holder's pid, when a live process holds it.
 */
export function acquireDataLock(dataDir: string, info: { port: number; adminToken: string }): DataLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  let mine: DataLockInfo = { pid: process.pid, port: info.port, adminToken: info.adminToken, startedAt: new Date().toISOString() };

  if (!linkNewLock(file, mine)) {
    const holder = readLockFile(file);
    if (holder && isProcessAlive(holder.pid)) throw new DataLockHeldError(holder, file);
    // dead holder, or a file that is not a lock we can read: stale
    takeOverStale(dataDir, file, mine);
  }

  let released = false;
  const stillMine = () => {
    const now = readLockFile(file);
    return !released && now !== null && now.pid === mine.pid && now.startedAt === mine.startedAt && now.adminToken === mine.adminToken;
  };
  return {
    path: file,
    get info() {
      return mine;
    },
    update(patch) {
      if (!stillMine()) throw new Error(`data lock ${file} is no longer held by this process`);
      mine = { ...mine, ...patch };
      const tmp = `${file}.${process.pid}.update.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(mine), { mode: 0o600 });
      fs.renameSync(tmp, file);
    },
    release() {
      if (stillMine()) fs.rmSync(file, { force: true });
      released = true;
    },
  };
}

/** The admin listener of the process holding `dataDir`'s lock, or null when none answers admin commands. */
export function adminEndpoint(dataDir: string): { url: string; token: string } | null {
  const info = readDataLock(dataDir);
  return info && info.port !== 0 ? { url: `http://127.0.0.1:${info.port}`, token: info.adminToken } : null;
}
