/**
 * The applier's checkpoint (`wal.checkpoint`, JSON): the log's identity and how far it has been
 * applied to ClickHouse.
 *
 * - `logId`: random, made when the folder is first used. Every chunk's deduplication token is
 *   `wal:<logId>:<segment>:<from>-<to>`, so a fresh log (a wiped WAL folder) can never reuse
 *   a token an old one used and have ClickHouse drop new rows as "duplicates".
 * - `committed`: every record before this position is in ClickHouse.
 * - `intent`: the chunk being written, recorded durably BEFORE the write. Chunk boundaries
 *   depend on timing (how much was pending when the applier woke), so after a crash the same
 *   bytes would not be cut the same way again; the intent pins the exact range, and re-applying
 *   it with the same token is dropped by ClickHouse if the first attempt had landed.
 * - `splits`: inserts of the intent's chunk that ClickHouse refused for their content and the
 *   writer split in halves, recorded before the halves are tried, so a re-application splits
 *   them the same way instead of trying the whole again (server/store/insert-split.ts).
 *
 * Saved atomically: write a temp file, fdatasync, rename over the old one, fsync the folder.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { syncDir } from './segment-files.ts';

const FILE = 'wal.checkpoint';
const TEMP = 'wal.checkpoint.tmp';

const Position = z.object({ segment: z.number().int().nonnegative(), offset: z.number().int().nonnegative() });
const Range = z.object({ segment: z.number().int().nonnegative(), from: z.number().int().nonnegative(), to: z.number().int().nonnegative() });
const Checkpoint = z.object({
  version: z.literal(1),
  logId: z.string().regex(/^[\w-]+$/),
  committed: Position,
  intent: Range.nullable(),
  /** Insert tokens of the intent's chunk that were split after ClickHouse refused their content (server/store/insert-split.ts). */
  splits: z.array(z.string()).optional(),
});
/** A byte offset in one segment. */
export type Position = z.infer<typeof Position>;
/** Bytes [from, to) of one segment. */
export type Range = z.infer<typeof Range>;
/** The file's content (see the module comment). */
export type Checkpoint = z.infer<typeof Checkpoint>;

/** The checkpoint in `dir`, or null when the folder has none yet. Throws when it is unreadable. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint | null> {
  await unlink(path.join(dir, TEMP)).catch(() => {}); // a save interrupted before its rename
  let text: string;
  try {
    text = await readFile(path.join(dir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = Checkpoint.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`wal: ${path.join(dir, FILE)} is damaged: ${parsed.error.message}`);
  return parsed.data;
}

/** Replaces the checkpoint durably (see the module comment). */
export async function saveCheckpoint(dir: string, cp: Checkpoint): Promise<void> {
  const temp = path.join(dir, TEMP);
  const fh = await open(temp, 'w');
  try {
    await fh.writeFile(JSON.stringify(cp));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(temp, path.join(dir, FILE));
  await syncDir(dir);
}

/** The deduplication token of a chunk: its exact place in this log. */
export function chunkToken(logId: string, r: Range): string {
  return `wal:${logId}:${r.segment}:${r.from}-${r.to}`;
}

/** True when position `a` lies strictly after `b` in the log. */
export function isAfter(a: Position, b: Position): boolean {
  return a.segment > b.segment || (a.segment === b.segment && a.offset > b.offset);
}
