/**
 * Test support for the WAL queue (nothing in the server imports it): a fake ClickHouse that
 * honours deduplication tokens the way the real writer's contract promises, batches of
 * numbered events, and "crash snapshots" — a copy of the WAL folder taken at one instant is
 * exactly what a SIGKILLed process would have left on disk at that instant.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emptyBatch, type WriteBatch } from '../../../shared/rows.ts';
import { makeEvent } from '../../store/clickhouse.fixtures.ts';
import type { BatchWriter } from '../queue.ts';
import { type ColumnLists, TABLE_COLUMNS, WRITTEN_COLUMNS } from './column-lists.ts';
import { decodeRecords, frameRecord, SEGMENT_HEADER_BYTES, scanRecords } from './record.ts';
import { allZero, listSegments, segmentName } from './segment-files.ts';

/** One `write` call as the fake saw it. */
export interface WriteCall {
  token: string;
  ids: string[];
  /** False when the token had been stored before (ClickHouse would drop the insert). */
  stored: boolean;
}

/** A BatchWriter over an in-memory "table"; several fakes may share one `store` (one ClickHouse). */
export class FakeClickhouse implements BatchWriter {
  readonly calls: WriteCall[] = [];
  /** Event id → times stored. */
  readonly rows: Map<string, number>;
  readonly tokens: Set<string>;
  /** Called at the start of each write; may throw (a failed write) or never resolve (a hang). */
  before?: (call: WriteCall, batch: WriteBatch) => Promise<void> | void;

  constructor(shared?: FakeClickhouse) {
    this.rows = shared?.rows ?? new Map();
    this.tokens = shared?.tokens ?? new Set();
  }

  async write(batch: WriteBatch, token: string): Promise<void> {
    const call: WriteCall = { token, ids: batch.events.map((e) => e.id), stored: false };
    this.calls.push(call);
    await this.before?.(call, batch);
    if (this.tokens.has(token)) return;
    this.tokens.add(token);
    call.stored = true;
    for (const id of call.ids) this.rows.set(id, (this.rows.get(id) ?? 0) + 1);
  }

  /** Rows per stored write, in order. */
  storedSizes(): number[] {
    return this.calls.filter((c) => c.stored).map((c) => c.ids.length);
  }
}

/** `n` events numbered from `from` (ids are stable: fixtureUuid(i + 1)). */
export function eventsBatch(from: number, n = 1): WriteBatch {
  const b = emptyBatch();
  for (let i = from; i < from + n; i++) b.events.push(makeEvent(i));
  return b;
}

/** A fresh folder under the OS temp dir. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies the WAL folder as it is on disk right now (what a process killed now leaves behind). */
export function crashSnapshot(dir: string): string {
  const copy = tempDir('lp-wal-snap-');
  cpSync(dir, copy, { recursive: true });
  return copy;
}

/**
 * Every event id in the records of every segment of `dir`, in log order; throws on anything
 * but records followed by zeros (the appender's zero-filled room).
 */
export async function idsOnDisk(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const n of await listSegments(dir)) {
    const buf = readFileSync(path.join(dir, segmentName(n))).subarray(SEGMENT_HEADER_BYTES);
    const { validEnd } = scanRecords(buf, 0);
    if (!allZero(buf.subarray(validEnd))) throw new Error(`wal: ${segmentName(n)} has damaged bytes at ${SEGMENT_HEADER_BYTES + validEnd}`);
    for (const b of decodeRecords(buf.subarray(0, validEnd))) ids.push(...b.events.map((e) => e.id));
  }
  return ids;
}

/**
 * The event ids a restart would apply from `dir` at this instant: the valid records of every
 * segment, up to a torn or damaged tail (which recovery ignores), in log order. Synchronous,
 * so nothing the log is doing in the background completes while it reads.
 */
export function recoverableIds(dir: string): string[] {
  const ids: string[] = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()) {
    const buf = readFileSync(path.join(dir, name)).subarray(SEGMENT_HEADER_BYTES);
    const { validEnd } = scanRecords(buf, 0);
    for (const b of decodeRecords(buf.subarray(0, validEnd))) ids.push(...b.events.map((e) => e.id));
  }
  return ids;
}

/**
 * A record as the previous version wrote it (format 1: the batch as one JSON object, after the
 * ids line when given), for replaying logs written before an upgrade.
 */
export function encodeRecordV1(batch: WriteBatch, rows: number, ids?: readonly string[]): Buffer {
  return frameRecord(ids && ids.length > 0 ? `${JSON.stringify(ids)}\n${JSON.stringify(batch)}` : JSON.stringify(batch), rows);
}

/**
 * The column lists of a version whose `events` columns are `events`: every list `before` knew
 * (default: this version's) stays known, so lines written then still read.
 */
export function versionWith(events: readonly string[], before: ColumnLists = { current: TABLE_COLUMNS, written: WRITTEN_COLUMNS }): ColumnLists {
  return { current: { ...before.current, events }, written: { ...before.written, events: [...before.written.events, events] } };
}
