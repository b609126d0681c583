/**
 * The WAL's byte format. A segment file starts with an 8-byte magic (`LPWAL01\n`: ours, format
 * version 1) followed by records, each one accepted push or the pushes of one commit group
 * (`encodeGroupRecord`):
 *
 *   u32 LE payload length | u32 LE row count | u32 LE CRC-32 of the 8 bytes before it + payload | payload
 *
 * The payload is the push's accepted ids (optional, a JSON line) and its batch, in the form
 * wal/batch-format.ts describes (compact rows, ready for the insert; older logs: JSON).
 *
 * Why length-prefixed binary frames and not newline-delimited JSON: a record's extent is
 * known from its header alone, so byte offsets — which name every chunk's deduplication
 * token — are exact and the reader never scans payloads for delimiters; the row count in the
 * header lets recovery size the backlog without parsing JSON. Why a CRC over header and
 * payload: a crash can leave a torn last record (a short header, a length pointing past the
 * end of the file, or zeros where the kernel extended the file but the data never landed);
 * each of these fails the length or CRC check, and the reader stops there. A zero length is
 * never written, so a zero-filled tail cannot pass as an empty record.
 */
import { crc32 } from 'node:zlib';
import type { WriteBatch } from '../../../shared/rows.ts';
import { addBatchToChunk, type CompactChunk, decodeBatch, type EncodedSection, emptyChunk, encodeBatch, joinSections } from './batch-format.ts';
import { type ColumnLists, WAL_COLUMNS } from './column-lists.ts';

/** First bytes of every segment file: ours, format version 1. */
export const SEGMENT_MAGIC = Buffer.from('LPWAL01\n', 'latin1');
/** Bytes before the first record of a segment. */
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length;
/** length + rows + CRC, each a u32. */
export const RECORD_HEADER_BYTES = 12;
/** Larger lengths are treated as corruption (a push is at most a few MiB of JSON). */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** Where one record lies in its segment: bytes [from, to). */
export interface RecordExtent {
  from: number;
  to: number;
  rows: number;
}

/**
 * Frames one batch as a record. With `ids` (the accepted client event ids of the push, as
 * dedupe keys), the payload is their JSON array, a newline, then the batch (batch-format.ts) —
 * JSON text holds no raw newline, and a batch starts with `~` (or `{`, older logs) where the
 * ids start with `[`, so both payload forms read back unambiguously and the ids alone can be
 * read without the batch.
 */
export function encodeRecord(batch: WriteBatch, rows: number, ids?: readonly string[], lists: ColumnLists = WAL_COLUMNS): Buffer {
  const payload = encodeBatch(batch, lists);
  return frameRecord(ids && ids.length > 0 ? `${JSON.stringify(ids)}\n${payload}` : payload, rows);
}

/**
 * One push's rows, encoded when it is pushed (so the caller may reuse its arrays) but framed
 * only with its commit group: the pushes that go to the log in one write share one record.
 */
export interface EncodedPush {
  sections: EncodedSection[];
  rows: number;
  /** The JSON array of its accepted client event ids, when it has any. */
  idsJson?: string;
}

/**
 * One record holding several pushes: their ids in one array, their rows in one section per
 * kind (batch-format.ts, `joinSections`). It reads back exactly as the record of one push
 * whose batch is the pushes' batches merged, so nothing that reads the log tells the two
 * apart, and logs written one record per push replay as before. Framing, the section
 * headers and the CRC are paid once per record instead of once per push (a `/track` request
 * is a push of one or two rows). The group is written, synced and acknowledged as a whole,
 * so its pushes are durable together or not at all, as they already were.
 */
export function encodeGroupRecord(pushes: readonly EncodedPush[]): Buffer {
  let rows = 0;
  const ids: string[] = [];
  for (const p of pushes) {
    rows += p.rows;
    // Each is a non-empty JSON array: its items are the text between the brackets.
    if (p.idsJson) ids.push(p.idsJson.slice(1, -1));
  }
  const payload = joinSections(pushes.map((p) => p.sections));
  return frameRecord(ids.length > 0 ? `[${ids.join(',')}]\n${payload}` : payload, rows);
}

/** A record of `rows` rows around the payload text `json` (header, CRC). */
export function frameRecord(json: string, rows: number): Buffer {
  const len = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt32LE(rows, 4);
  buf.write(json, RECORD_HEADER_BYTES, 'utf8');
  buf.writeUInt32LE(recordCrc(buf, len), 8);
  return buf;
}

function recordCrc(buf: Buffer, len: number, at = 0): number {
  const head = crc32(buf.subarray(at, at + 8));
  return crc32(buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + len), head);
}

/** Why a scan stopped before the end of the bytes it was given (undefined: it did not). */
export type ScanStop = 'short_header' | 'bad_length' | 'past_end' | 'bad_crc' | undefined;

/**
 * Walks the records of `buf`, which holds file bytes starting at file offset `base` (a record
 * boundary). Returns every valid record up to the first invalid one, where the log ends.
 */
export function scanRecords(buf: Buffer, base: number): { records: RecordExtent[]; validEnd: number; stop: ScanStop } {
  const records: RecordExtent[] = [];
  let at = 0;
  let stop: ScanStop;
  while (at < buf.length) {
    if (buf.length - at < RECORD_HEADER_BYTES) {
      stop = 'short_header';
      break;
    }
    const len = buf.readUInt32LE(at);
    if (len === 0 || len > MAX_PAYLOAD_BYTES) {
      stop = 'bad_length';
      break;
    }
    const end = at + RECORD_HEADER_BYTES + len;
    if (end > buf.length) {
      stop = 'past_end';
      break;
    }
    if (buf.readUInt32LE(at + 8) !== recordCrc(buf, len, at)) {
      stop = 'bad_crc';
      break;
    }
    records.push({ from: base + at, to: base + end, rows: buf.readUInt32LE(at + 4) });
    at = end;
  }
  return { records, validEnd: base + at, stop };
}

/** Where a record's batch JSON starts (after its ids line, when it has one). */
function batchStart(buf: Buffer, from: number, to: number): number {
  if (buf[from] !== 0x5b /* [ */) return from;
  const nl = buf.indexOf(0x0a, from);
  return nl < 0 || nl >= to ? from : nl + 1;
}

/** Where each record's batch lies in `buf` (whole records read back from a segment); throws on any damage. */
function batchRanges(buf: Buffer): Array<{ from: number; to: number }> {
  const { records, validEnd, stop } = scanRecords(buf, 0);
  if (stop || validEnd !== buf.length) throw new Error(`wal: damaged record in a range that was valid (${stop})`);
  return records.map((r) => ({ from: batchStart(buf, r.from + RECORD_HEADER_BYTES, r.to), to: r.to }));
}

/** Decodes every record of `buf` (whole records) to row objects; throws on any damage. */
export function decodeRecords(buf: Buffer, lists: ColumnLists = WAL_COLUMNS): WriteBatch[] {
  return batchRanges(buf).map((r) => decodeBatch(buf, r.from, r.to, lists));
}

/**
 * The rows of every record of `buf` (whole records, in log order) as the writer inserts them:
 * per table, the records' compact lines as they lie in `buf` (no copy, nothing parsed; older
 * records are encoded on the way). Throws on any damage.
 */
export function chunkOfRecords(buf: Buffer, lists: ColumnLists = WAL_COLUMNS): CompactChunk {
  const chunk = emptyChunk();
  for (const r of batchRanges(buf)) addBatchToChunk(buf, r.from, r.to, chunk, lists);
  return chunk;
}

/** The client event ids a record carries (empty for records written without them); `buf` holds the bytes from file offset `base`. */
export function recordIds(buf: Buffer, r: RecordExtent, base = 0): string[] {
  const from = r.from - base + RECORD_HEADER_BYTES;
  const start = batchStart(buf, from, r.to - base);
  if (start === from) return [];
  return JSON.parse(buf.toString('utf8', from, start - 1)) as string[];
}
