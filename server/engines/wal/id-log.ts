/**
 * The accepted client event ids of the embedded shape, kept on disk so the dedupe survives a
 * restart: an SDK resends what it had not seen acknowledged when the server died, and without
 * the ids those events — already durable — would be stored a second time.
 *
 * Each push's ids travel inside its write-ahead-log record (record.ts), so they are durable
 * exactly when the push is acknowledged. Segments are deleted once applied, though, and the ids
 * must outlive them by DEDUPE_TTL_MS: so accepted ids are also appended here (`ids/ids-<ms>.log`,
 * one line `<ms>\t<json array>` per append, a new file every quarter of the TTL), flushed and
 * fdatasynced every second and always before a segment is deleted. After a crash the ids are
 * what these files hold within the TTL plus what the segments still on disk hold.
 * Files older than the TTL are deleted. Reading is bounded: lines past MAX_READ_BYTES per file
 * are not read, a torn line is skipped.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';

const FILE = /^ids-(\d+)\.log$/;
const MAX_READ_BYTES = 256 * 1024 * 1024;

export interface IdLog {
  /** Queues ids accepted now (written at the next flush). */
  add(ids: readonly string[]): void;
  /** Writes and fdatasyncs what was queued (before a segment holding their records is deleted); flushes run one at a time. */
  flush(): Promise<void>;
  /** Ids accepted within the TTL, with how long each has left (ms), read at start-up. */
  recent(): Array<{ ids: string[]; ttlMs: number }>;
  close(): Promise<void>;
}

export function openIdLog(dir: string, ttlMs: number, now: () => number = Date.now): IdLog {
  const folder = path.join(dir, 'ids');
  mkdirSync(folder, { recursive: true });
  const rotateMs = Math.max(1000, Math.floor(ttlMs / 4));
  let queued: string[] = [];
  let fh: FileHandle | null = null;
  let fileStart = 0;
  let chain: Promise<void> = Promise.resolve();

  const files = () =>
    readdirSync(folder)
      .map((f) => FILE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[0], start: Number(m[1]) }))
      .sort((a, b) => a.start - b.start);

  function prune(t: number): void {
    const all = files();
    // A file holds ids from its start until the next file's start: past the TTL after that, it can go.
    for (let i = 0; i < all.length - 1; i++) {
      if (all[i + 1]!.start + ttlMs < t && all[i]!.start !== fileStart) unlinkSync(path.join(folder, all[i]!.name));
    }
  }

  async function write(): Promise<void> {
    if (queued.length === 0) return;
    const ids = queued;
    queued = [];
    try {
      const t = now();
      if (fh === null || t - fileStart >= rotateMs) {
        await fh?.close();
        fileStart = t;
        fh = await open(path.join(folder, `ids-${t}.log`), 'a');
        prune(t);
      }
      await fh.write(`${t}\t${JSON.stringify(ids)}\n`);
      await fh.datasync();
    } catch (err) {
      queued = ids.concat(queued); // written at the next flush; their segments are kept until then
      throw err;
    }
  }

  return {
    add(ids) {
      for (const id of ids) queued.push(id);
    },
    flush() {
      const next = chain.then(write);
      chain = next.catch(() => {});
      return next;
    },
    recent() {
      const t = now();
      const out: Array<{ ids: string[]; ttlMs: number }> = [];
      for (const f of files()) {
        const buf = readBounded(path.join(folder, f.name));
        for (const line of buf.toString('utf8').split('\n')) {
          const tab = line.indexOf('\t');
          if (tab < 0) continue;
          const at = Number(line.slice(0, tab));
          if (!Number.isFinite(at) || at + ttlMs <= t) continue;
          try {
            const ids = JSON.parse(line.slice(tab + 1)) as unknown;
            if (Array.isArray(ids)) out.push({ ids: ids.filter((x): x is string => typeof x === 'string'), ttlMs: at + ttlMs - t });
          } catch {
            // a torn last line: its ids are still in the segments (they are synced before any deletion)
          }
        }
      }
      return out;
    },
    async close() {
      await chain;
      await fh?.close();
      fh = null;
    },
  };
}

function readBounded(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(fstatSync(fd).size, MAX_READ_BYTES));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
