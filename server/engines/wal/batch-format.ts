/**
 * How a WAL record's payload holds its batch (after the optional ids line, see record.ts).
 * Two forms, told apart by their first byte:
 *
 *  `~` — format 2, written now. One section per non-empty kind of the batch, each a header line
 *        `~{"table":"events","rows":50,"bytes":31234,"parts":["2026-11"]}` followed by exactly
 *        `bytes` bytes of rows, one per line:
 *          events, sessions, groups, replays — a JSONCompactEachRow line: the row's values in
 *            the order of the column list the header names (`"cols":…`, none: the table's first
 *            list; column-lists.ts), already made storable (store/storable.ts). That is the very
 *            text ClickHouse takes under that column list, so the insert thread hands the
 *            sections to the insert as they are: it parses and re-encodes nothing (unless the
 *            list has a column this version no longer has). `parts` lists the partitions
 *            (months) the rows fall in, so the writer knows without reading rows whether an
 *            insert spans too many (store/insert-split.ts).
 *          profiles — one ProfileOp as a JSON object (the writer applies it to the stored profile).
 *  `{` — format 1, written by earlier versions: the batch as one JSON object. Still read, so a log
 *        written before an upgrade replays (its rows are encoded as lines when read).
 *
 * JSON text holds no raw newline, so lines split on `\n` alone when the writer has to bisect
 * an insert ClickHouse refused.
 */
import { emptyBatch, type ProfileOp, type WriteBatch } from '../../../shared/rows.ts';
import { storableRow, storableValue } from '../../store/storable.ts';
import { COMPACT_TABLES, type ColumnLists, type CompactTable, sameColumns, sectionColumns, sectionColumnsId, WAL_COLUMNS } from './column-lists.ts';

export { COMPACT_TABLES, type CompactTable, TABLE_COLUMNS } from './column-lists.ts';

/** The column whose month is each table's partition (db/clickhouse/*.sql); groups are not partitioned by time. */
export const PARTITION_COLUMN: Partial<Record<CompactTable, string>> = { events: 'created_at', sessions: 'created_at', replays: 'started_at' };

/** Month of a 'YYYY-MM-DD hh:mm:ss.sss' time: the partition of the tables partitioned by month. */
export const monthOf = (t: unknown): string => (typeof t === 'string' ? t.slice(0, 7) : '');

/** Rows of one table of a chunk written with one column list: JSONCompactEachRow text (every line ends with `\n`), in log order. */
export interface CompactRows {
  /** The columns the lines carry, in order: what the insert names. */
  columns: readonly string[];
  /** The text, in pieces (sections of records), to be joined in order. */
  text: Buffer[];
  rows: number;
  /** Every partition (month) the rows fall in. */
  parts: Set<string>;
}

/** What the insert thread writes for a chunk of the log. */
export interface CompactChunk {
  /** Per table, its rows grouped by column list (one group, except in a chunk spanning a column change). */
  tables: Record<CompactTable, CompactRows[]>;
  profiles: ProfileOp[];
}

export function emptyChunk(): CompactChunk {
  return { tables: { events: [], sessions: [], groups: [], replays: [] }, profiles: [] };
}

/** The group of `table`'s rows in `chunk` written with `columns` (added when new). */
function groupOf(chunk: CompactChunk, table: CompactTable, columns: readonly string[]): CompactRows {
  const groups = chunk.tables[table];
  const found = groups.find((g) => sameColumns(g.columns, columns));
  if (found) return found;
  const group: CompactRows = { columns, text: [], rows: 0, parts: new Set() };
  groups.push(group);
  return group;
}

interface SectionHeader {
  table: CompactTable | 'profiles';
  rows: number;
  bytes: number;
  parts?: string[];
  /** The id of the column list the lines carry (column-lists.ts); none: the table's first list. */
  cols?: string;
}

/** A table's rows as JSONCompactEachRow lines, with the partitions they fall in. */
function tableLines(table: CompactTable, rows: readonly object[], columns: readonly string[]): { lines: string; parts: string[] | undefined } {
  const partColumn = PARTITION_COLUMN[table];
  const parts = partColumn ? new Set<string>() : undefined;
  let lines = '';
  for (const row of rows as Record<string, unknown>[]) {
    lines += `${compactLine(row, columns)}\n`;
    if (partColumn) parts!.add(monthOf(row[partColumn]));
  }
  return { lines, parts: parts && [...parts] };
}

/**
 * A row's JSONCompactEachRow line, its values made storable (store/storable.ts). Strings are
 * taken as they are and checked once in the JSON text instead, which costs nothing extra: a
 * lone surrogate anywhere (a value, a map key, an array item) is the one thing JSON.stringify
 * writes as a `\udXXX` escape, and only then is the row redone with every string fixed (a
 * literal backslash before `ud` also takes that path, harmlessly).
 */
function compactLine(row: Record<string, unknown>, columns: readonly string[]): string {
  // One array reused for every row (no garbage per row, see docs/benchmarks.md), filled in
  // order so it stays packed: JSON.stringify of a packed array is ≈ 10 % faster.
  const values = lineValues;
  readerOf(columns)(row, values);
  for (let i = 0; i < columns.length; i++) {
    const v = values[i];
    if (typeof v !== 'string') values[i] = storableValue(columns[i]!, v);
  }
  values.length = columns.length;
  const line = JSON.stringify(values);
  return line.includes('\\ud') ? JSON.stringify(storableRow(row, columns)) : line;
}
const lineValues: unknown[] = [];

type RowReader = (row: Record<string, unknown>, into: unknown[]) => void;
const readers = new WeakMap<readonly string[], RowReader>();

/**
 * Copies a row's values in `columns` order into an array, by a function made once per column
 * list: `into[0] = row["id"]; into[1] = row["project_id"]; …`. Each of those reads is a named
 * property access V8 caches for the row's shape; `row[columns[i]]` in a loop was a megamorphic
 * keyed lookup per value (≈ 40 per event row), the largest part of encoding a record. The
 * names are our own column lists (column-lists.ts), written into the source as JSON strings.
 */
function readerOf(columns: readonly string[]): RowReader {
  let read = readers.get(columns);
  if (!read) {
    const body = columns.map((c, i) => `into[${i}] = row[${JSON.stringify(c)}];`).join('\n');
    read = new Function('row', 'into', body) as RowReader;
    readers.set(columns, read);
  }
  return read;
}

/**
 * One kind of rows of a push, encoded (its lines) but not yet framed as a section: pushes that
 * share a log record (a commit group, queue.wal.ts) are framed together by `joinSections`.
 */
export interface EncodedSection {
  table: SectionHeader['table'];
  /** The rows' lines, each ended by `\n`. */
  lines: string;
  rows: number;
  parts?: string[];
  cols?: string;
}

/** The batch's rows as lines, one entry per non-empty kind (in the order a payload holds them). */
export function encodeSections(batch: WriteBatch, lists: ColumnLists = WAL_COLUMNS): EncodedSection[] {
  const out: EncodedSection[] = [];
  for (const table of COMPACT_TABLES) {
    const rows = batch[table];
    if (rows.length === 0) continue;
    const { lines, parts } = tableLines(table, rows, lists.current[table]);
    out.push({ table, lines, rows: rows.length, parts, cols: sectionColumnsId(table, lists) });
  }
  if (batch.profiles.length > 0) {
    let lines = '';
    for (const op of batch.profiles) lines += `${JSON.stringify(op)}\n`;
    out.push({ table: 'profiles', lines, rows: batch.profiles.length });
  }
  return out;
}

/**
 * The format-2 payload of several pushes' sections, in push order: one section per kind (and
 * column list), its rows those of every push in turn — one header for all of them. Rows of
 * different kinds were never ordered against each other (the insert writes each table apart),
 * so this is the payload of the pushes' batches merged. '' when there is nothing.
 */
export function joinSections(pushes: readonly (readonly EncodedSection[])[]): string {
  if (pushes.length === 1) {
    let out = '';
    for (const s of pushes[0]!) out += section(s.table, s.lines, s.rows, s.parts, s.cols);
    return out;
  }
  const joined = new Map<string, { s: EncodedSection; lines: string; rows: number; parts: Set<string> | undefined }>();
  for (const push of pushes) {
    for (const s of push) {
      const key = s.cols ? `${s.table} ${s.cols}` : s.table;
      const j = joined.get(key);
      if (!j) joined.set(key, { s, lines: s.lines, rows: s.rows, parts: s.parts && new Set(s.parts) });
      else {
        j.lines += s.lines;
        j.rows += s.rows;
        if (s.parts) for (const p of s.parts) j.parts!.add(p);
      }
    }
  }
  let out = '';
  for (const j of joined.values()) out += section(j.s.table, j.lines, j.rows, j.parts && [...j.parts], j.s.cols);
  return out;
}

function section(table: SectionHeader['table'], lines: string, rows: number, parts?: string[], cols?: string): string {
  const header: SectionHeader = { table, rows, bytes: Buffer.byteLength(lines), parts, cols };
  return `~${JSON.stringify(header)}\n${lines}`;
}

/** The batch as a format-2 payload (see the module comment); '' for an empty batch. */
export function encodeBatch(batch: WriteBatch, lists: ColumnLists = WAL_COLUMNS): string {
  return joinSections([encodeSections(batch, lists)]);
}

/** Calls `fn` with each section of the format-2 payload buf[from, to): its header and where its rows lie. */
function forEachSection(buf: Buffer, from: number, to: number, fn: (h: SectionHeader, start: number, end: number) => void): void {
  let at = from;
  while (at < to) {
    const nl = buf.indexOf(0x0a, at);
    if (buf[at] !== 0x7e /* ~ */ || nl < 0 || nl >= to) throw new Error('wal: damaged batch section header');
    const h = JSON.parse(buf.toString('utf8', at + 1, nl)) as SectionHeader;
    const end = nl + 1 + h.bytes;
    if (!Number.isInteger(h.bytes) || end > to || (h.table !== 'profiles' && !COMPACT_TABLES.includes(h.table))) {
      throw new Error(`wal: unknown or damaged batch section (${String(h.table)})`);
    }
    fn(h, nl + 1, end);
    at = end;
  }
}

/** The lines of buf[start, end) (each ended by `\n`), without their newlines. */
function linesOf(buf: Buffer, start: number, end: number): string[] {
  const text = buf.toString('utf8', start, end);
  return text.length === 0 ? [] : text.slice(0, -1).split('\n');
}

/** A compact line carrying `columns` back as the row object it was made from (values as stored). */
export function rowOfLine(columns: readonly string[], line: string): Record<string, unknown> {
  const values = JSON.parse(line) as unknown[];
  const row: Record<string, unknown> = {};
  columns.forEach((c, i) => {
    row[c] = values[i];
  });
  return row;
}

/** The lines of buf[start, end) with only the values of the `kept` columns of `written` (each line ended by `\n`). */
function keptLines(buf: Buffer, start: number, end: number, written: readonly string[], kept: readonly string[]): string {
  const at = kept.map((c) => written.indexOf(c));
  let out = '';
  for (const line of linesOf(buf, start, end)) {
    const values = JSON.parse(line) as unknown[];
    out += `${JSON.stringify(at.map((i) => values[i]))}\n`;
  }
  return out;
}

/** Adds the rows of a batch of row objects to `into`, encoded as lines of the current lists. */
export function addRowsToChunk(batch: WriteBatch, into: CompactChunk, lists: ColumnLists = WAL_COLUMNS): void {
  for (const table of COMPACT_TABLES) {
    const rows = batch[table];
    if (rows.length === 0) continue;
    const { lines, parts } = tableLines(table, rows, lists.current[table]);
    const t = groupOf(into, table, lists.current[table]);
    t.text.push(Buffer.from(lines));
    t.rows += rows.length;
    for (const p of parts ?? []) t.parts.add(p);
  }
  for (const op of batch.profiles) into.profiles.push(op);
}

/** Appends every row of `from` to `into` (keeps order; lines of one column list stay one group). */
export function mergeChunk(into: CompactChunk, from: CompactChunk): CompactChunk {
  for (const table of COMPACT_TABLES) {
    for (const g of from.tables[table]) {
      const t = groupOf(into, table, g.columns);
      t.text.push(...g.text);
      t.rows += g.rows;
      for (const p of g.parts) t.parts.add(p);
    }
  }
  for (const op of from.profiles) into.profiles.push(op);
  return into;
}

/** Rows a chunk holds, every kind. */
export function chunkRows(chunk: CompactChunk): number {
  let n = chunk.profiles.length;
  for (const table of COMPACT_TABLES) for (const g of chunk.tables[table]) n += g.rows;
  return n;
}

/** Adds the rows of the batch payload buf[from, to) to `into`, as they lie for a format-2 payload. */
export function addBatchToChunk(buf: Buffer, from: number, to: number, into: CompactChunk, lists: ColumnLists = WAL_COLUMNS): void {
  if (buf[from] === 0x7b /* { */) {
    addRowsToChunk(JSON.parse(buf.toString('utf8', from, to)) as WriteBatch, into, lists);
    return;
  }
  forEachSection(buf, from, to, (h, start, end) => {
    if (h.table === 'profiles') {
      for (const line of linesOf(buf, start, end)) into.profiles.push(JSON.parse(line) as ProfileOp);
      return;
    }
    const { written, kept } = sectionColumns(h.table, h.cols, lists);
    const t = groupOf(into, h.table, kept);
    t.text.push(kept === written ? buf.subarray(start, end) : Buffer.from(keptLines(buf, start, end, written, kept)));
    t.rows += h.rows;
    for (const p of h.parts ?? []) t.parts.add(p);
  });
}

/** The batch of the payload buf[from, to), either format, as row objects. */
export function decodeBatch(buf: Buffer, from: number, to: number, lists: ColumnLists = WAL_COLUMNS): WriteBatch {
  if (buf[from] === 0x7b /* { */) return JSON.parse(buf.toString('utf8', from, to)) as WriteBatch;
  const batch = emptyBatch();
  forEachSection(buf, from, to, (h, start, end) => {
    const lines = linesOf(buf, start, end);
    if (h.table === 'profiles') for (const line of lines) batch.profiles.push(JSON.parse(line) as ProfileOp);
    else {
      const table = h.table;
      const { written, kept } = sectionColumns(table, h.cols, lists);
      const out = batch[table] as unknown as Record<string, unknown>[];
      for (const line of lines) {
        const row = rowOfLine(written, line);
        if (kept !== written) for (const c of written) if (!kept.includes(c)) delete row[c];
        out.push(row);
      }
    }
  });
  return batch;
}
