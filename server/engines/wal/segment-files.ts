/**
 * The WAL's files in its folder: numbered segments (`wal-000000000001.seg`, numbers only grow
 * and are never reused while a token derived from them could still matter) and the helpers
 * that make their creation, reading and removal durable. Directory entries (a new segment, a
 * renamed checkpoint, a deleted segment) are made durable with an fsync of the folder, as
 * POSIX requires; a file's own fdatasync does not cover its name.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { type RecordExtent, recordIds, type ScanStop, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, scanRecords } from './record.ts';

const SEGMENT_FILE = /^wal-(\d{12})\.seg$/;

/** File name of segment `n`. */
export function segmentName(n: number): string {
  return `wal-${String(n).padStart(12, '0')}.seg`;
}

/** Segment numbers present in `dir`, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .map((f) => SEGMENT_FILE.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** fsyncs the folder itself so entries created, renamed or removed in it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates segment `n` (failing if it exists), writes the magic and makes file and name
 * durable. Returns the handle, positioned writes start at SEGMENT_HEADER_BYTES.
 */
export async function createSegment(dir: string, n: number): Promise<FileHandle> {
  const fh = await open(path.join(dir, segmentName(n)), 'wx');
  try {
    await fh.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    await fh.datasync();
    await syncDir(dir);
    return fh;
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/** What recovery found in one segment. */
export interface SegmentScan {
  segment: number;
  records: RecordExtent[];
  /** End of the last valid record (SEGMENT_HEADER_BYTES for an empty segment). */
  validEnd: number;
  /** File size; bytes in [validEnd, size) are a torn or damaged tail and are ignored. */
  size: number;
  /** Every byte past `validEnd` is zero: the appender's zero-filled room (or a tail that never landed), not damage. */
  zeroTail: boolean;
  stop: ScanStop | 'no_magic';
  /** The client event ids its valid records carry (record.ts). */
  ids: string[];
}

/**
 * Reads segment `n` whole, fdatasyncs it (bytes a killed process left in the page cache
 * become durable before anything is applied or acknowledged on their account) and lists its
 * valid records. A file too short for the magic (crash during creation) is an empty segment;
 * a file with another magic is not ours, and recovery refuses to go on.
 */
export async function scanSegment(dir: string, n: number): Promise<SegmentScan> {
  const file = path.join(dir, segmentName(n));
  const fh = await open(file, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
  const buf = await readFile(file);
  if (buf.length < SEGMENT_HEADER_BYTES) {
    return { segment: n, records: [], validEnd: SEGMENT_HEADER_BYTES, size: buf.length, stop: 'no_magic', ids: [], zeroTail: allZero(buf) };
  }
  if (!buf.subarray(0, SEGMENT_HEADER_BYTES).equals(SEGMENT_MAGIC)) {
    throw new Error(`wal: ${file} is not a Livepanel WAL segment (or has an unknown format version)`);
  }
  const { records, validEnd, stop } = scanRecords(buf.subarray(SEGMENT_HEADER_BYTES), SEGMENT_HEADER_BYTES);
  const ids: string[] = [];
  for (const r of records) for (const id of recordIds(buf, r)) ids.push(id);
  return { segment: n, records, validEnd, size: buf.length, stop, ids, zeroTail: allZero(buf.subarray(validEnd)) };
}

const ZEROS = Buffer.alloc(64 * 1024);
/** Whether every byte of `buf` is zero. */
export function allZero(buf: Buffer): boolean {
  for (let at = 0; at < buf.length; at += ZEROS.length) {
    const part = buf.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/** Bytes [from, to) of segment `n`. */
export async function readSegmentRange(dir: string, n: number, from: number, to: number): Promise<Buffer> {
  const fh = await open(path.join(dir, segmentName(n)), 'r');
  try {
    const buf = Buffer.allocUnsafe(to - from);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, from + got);
      if (bytesRead === 0) throw new Error(`wal: ${segmentName(n)} ends before byte ${to}`);
      got += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/** Removes segment `n` (already gone is fine). The caller syncs the folder. */
export async function removeSegment(dir: string, n: number): Promise<void> {
  await unlink(path.join(dir, segmentName(n))).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
