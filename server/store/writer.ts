/**
 * Writes a WriteBatch to ClickHouse (chDB or server, same code): one insert per non-empty
 * kind, each carrying the insert deduplication token `${token}:${table}`, so a batch retried
 * with the same token — after a crash, a timeout, a failed half — is never stored or counted
 * twice, in the tables or in the rollups fed from them.
 *
 * Why the settings sit in the statement's SETTINGS clause and not in `clickhouse_settings`:
 * on chDB the client turns `clickhouse_settings` into session-wide `SET`s that outlive the
 * call; a leaked token makes later, different inserts into the same table vanish as
 * "duplicates". `deduplicate_blocks_in_dependent_materialized_views = 1` makes the rollup
 * views run on a retried insert and deduplicate in their own targets (their own windows, see
 * 005_rollups.sql): a retry repairs a rollup that missed the first attempt and never
 * double-counts one that did not. chDB's ClickHouse 26.7 defaults it to 1; older releases
 * defaulted to 0, so it is always set.
 *
 * Insert path: JSONCompactEachRow with an explicit column list. Measured on chDB with
 * bench/clickhouse-insert.ts — 10k EventRows per insert, both rollup views attached, dedup
 * on, 2 cores shared with other jobs (load 5–7), two runs of 15 rounds, median / best:
 *   insert JSONCompactEachRow, array of arrays      205–247 / 180–197 ms  ≈ 40–49k rows/s  ← used
 *   insert TabSeparated, JS-encoded, as a stream    240–304 / 206–211 ms  (encoding 50–70 ms)
 *   chDB-only connection.chdb.rawInsert, TSV Buffer 250–287 / 191–211 ms  (reference)
 *   insert JSONEachRow, array of objects            268–287 / 221–230 ms
 *   exec JSONEachRow, pre-serialized string         309–330 / 230–257 ms
 * Compact JSON wins: JSON.stringify is native, the text is smaller than keyed JSON, and rows are
 * matched to columns by position. Map (object), Array, Nullable (null) and DateTime64 text
 * ('YYYY-MM-DD hh:mm:ss.sss') round-trip exactly (clickhouse.int.test.ts).
 *
 * One row never blocks the others: values are made storable as they are serialised
 * (storable.ts), inserts are split by partition, and an insert ClickHouse refuses for its
 * content is bisected until the refused row is alone, which goes to the quarantine
 * (insert-split.ts, quarantine.ts). Other failures reject `write` for the caller to retry.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ProfileOp, WriteBatch } from '../../shared/rows.ts';
import { type CompactChunk, type CompactRows, type CompactTable, monthOf, PARTITION_COLUMN, rowOfLine, TABLE_COLUMNS } from '../engines/wal/batch-format.ts';
import { columnsId } from '../engines/wal/column-lists.ts';
import { insertBytes, sqlString } from './clickhouse.ts';
import { insertSplitting, isDataError, MAX_PARTITIONS_PER_INSERT, memorySplitMemo, partitionGroups, type SplitMemo } from './insert-split.ts';
import { applyProfileOps, type ProfileRow, profileKey } from './profile-ops.ts';
import { createQuarantine, type Quarantine, type QuarantineTable } from './quarantine.ts';
import { storableRow } from './storable.ts';

/** Options of one `write`. */
export interface WriteOptions {
  /**
   * Where splits of refused inserts are remembered across retries of this batch (and across
   * crashes, when the caller persists it: the WAL checkpoint, the worker's group record).
   * Default: remembered for this call only.
   */
  splits?: SplitMemo;
}

/** Writes batches; see the module comment for the retry contract. */
export interface Writer {
  /**
   * Inserts every non-empty kind of `batch` and applies its profile ops. Resolves when all
   * of it is stored (rows ClickHouse refused for their content are in the quarantine); rejects
   * if any part failed otherwise, and then nothing is still in flight. Retry with the same
   * `token` (unique per batch, stable across retries) and the same `splits`: parts already
   * stored are skipped by ClickHouse, including their rollup rows and profile versions.
   */
  write(batch: WriteBatch, token: string, opts?: WriteOptions): Promise<void>;
  /**
   * `write` for a chunk of the write-ahead log in its compact form (wal/batch-format.ts): the
   * rows' JSONCompactEachRow text goes to ClickHouse as it is. Same tokens, partition groups,
   * splits and quarantine as `write` of the same rows, so either may retry the other.
   */
  writeChunk(chunk: CompactChunk, token: string, opts?: WriteOptions): Promise<void>;
  /** Inserts rows of one table as they are (made storable, no split, no quarantine); rejects with ClickHouse's error. */
  insertRows(table: QuarantineTable, rows: readonly object[], token: string): Promise<void>;
  /** The quarantine this writer puts refused rows in. */
  readonly quarantine: Quarantine;
}

type Table = QuarantineTable;
const PROFILE_COLUMNS: readonly (keyof ProfileRow)[] = [
  'project_id',
  'id',
  'first_name',
  'last_name',
  'email',
  'avatar',
  'properties',
  'groups',
  'created_at',
  'updated_at',
];

/** Columns written per table, in the order the compact rows carry them (shared/rows.ts names). */
const COLUMNS: Record<Table, readonly string[]> = { ...TABLE_COLUMNS, profiles: PROFILE_COLUMNS };

/** Each table's partition key (db/clickhouse/*.sql); the rollups follow `events` (month, year). */
const PARTITION_OF: Partial<Record<Table, (row: Record<string, unknown>) => string>> = Object.fromEntries(
  Object.entries(PARTITION_COLUMN).map(([table, column]) => [table, (r: Record<string, unknown>) => monthOf(r[column])]),
);

/**
 * The metrics a writer records: these members of Metrics, typed by what the writer calls, so
 * the insert thread (insert-thread.ts) can forward them to the registry of the main thread.
 */
export interface WriterMetrics {
  flushRows: { observe(labels: { table: string }, rows: number): void };
  flushSeconds: { startTimer(): () => unknown; observe(seconds: number): void };
  quarantinedRows: { inc(labels: { table: string }): void };
  insertSplits: { inc(labels: { table: string }): void };
}

export interface WriterOptions {
  /** Most properties a profile keeps (profile-ops.ts). */
  maxProfileProperties?: number;
  /**
   * `input_format_parallel_parsing` of every insert (unset: ClickHouse's default, on). Off in
   * the embedded shape (`INSERT_PARALLEL_PARSING`): an insert is one chunk of at most
   * `FLUSH_MAX_SIZE` rows (≈ 7 MB at 20,000), one segment for the parallel parser, which then
   * only adds its threads and their buffers beside the insert's on a machine of few cores.
   */
  parallelParsing?: boolean;
}

/** A writer on `ch` (its default database holds the tables); records flush metrics if given. */
export function createWriter(ch: ClickHouseClient, metrics?: WriterMetrics, opts: WriterOptions = {}): Writer {
  const quarantine = createQuarantine(ch);
  // ClickHouse's own default (on) unless told: the setting rides in each insert's SETTINGS.
  const parsing: Record<string, number> = opts.parallelParsing === undefined ? {} : { input_format_parallel_parsing: opts.parallelParsing ? 1 : 0 };
  const parsingClause = Object.entries(parsing)
    .map(([k, v]) => `, ${k} = ${v}`)
    .join('');
  // Profile ops read, modify and write; two batches touching one profile at once would each
  // start from the same version and one change would be lost. Serialized per writer, which
  // covers one process. Several worker processes (distributed shape) must not apply ops for
  // the same profile at the same time: route profile ops to one consumer or lock per profile.
  let profileChain: Promise<unknown> = Promise.resolve();

  /** One INSERT of `rows` with deduplication token `token`. */
  async function insertRows(table: Table, rows: readonly object[], token: string): Promise<void> {
    if (rows.length === 0) return;
    const columns = COLUMNS[table];
    const values = rows.map((r) => storableRow(r as Record<string, unknown>, columns));
    // The client appends ` FORMAT …` to `table`; column list and SETTINGS ride along in it.
    const settings = `SETTINGS insert_deduplication_token = ${sqlString(token)}, deduplicate_blocks_in_dependent_materialized_views = 1${parsingClause}`;
    await ch.insert({ table: `${table} (${columns.join(', ')}) ${settings}`, values, format: 'JSONCompactEachRow' });
    metrics?.flushRows.observe({ table }, rows.length);
  }

  /** Inserts a table's rows of a batch: by partition groups, splitting refused inserts, quarantining refused rows. */
  async function insert(table: Table, rows: readonly object[], token: string, splits: SplitMemo): Promise<void> {
    if (rows.length === 0) return;
    for (const group of partitionGroups(rows as Record<string, unknown>[], PARTITION_OF[table])) {
      await insertSplitting(group.rows, `${token}:${table}${group.suffix}`, {
        insert: (part, t) => insertRows(table, part, t),
        quarantine: async (row, t, err) => {
          await quarantine.put(table, row, t, err);
          metrics?.quarantinedRows.inc({ table });
        },
        splits,
        onSplit: () => metrics?.insertSplits.inc({ table }),
      });
    }
  }

  /** One insert of JSONCompactEachRow `body` (`rows` lines carrying `columns`) with deduplication token `token`. */
  async function insertText(table: CompactTable, columns: readonly string[], body: Buffer, rows: number, token: string): Promise<void> {
    const settings = { insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1, ...parsing };
    await insertBytes(ch, { table, columns, format: 'JSONCompactEachRow', body, settings });
    metrics?.flushRows.observe({ table }, rows);
  }

  /** `lines` as one insert body. */
  const bodyOf = (lines: readonly string[]) => Buffer.from(`${lines.join('\n')}\n`);

  /**
   * Inserts a table's rows of a chunk, one `insertCompact` per column list they were written
   * with, each naming its columns (a column added since takes its default). The token is the
   * table's as for `write`; only a chunk spanning a column change has several lists, and then
   * each list's token also carries the list's id.
   */
  async function insertCompactGroups(table: CompactTable, groups: readonly CompactRows[], token: string, splits: SplitMemo): Promise<void> {
    for (const rows of groups) {
      await insertCompact(table, rows, groups.length === 1 ? `${token}:${table}` : `${token}:${table}:c${columnsId(rows.columns)}`, splits);
    }
  }

  /**
   * `insert` for compact rows: the whole text under the token first, as it lies; only when
   * ClickHouse refuses it for its content (or it was split before a crash) are its lines cut
   * apart, and then the same bisection and quarantine as `insert` run on them — the same
   * halves and tokens as for the row objects these lines were made from.
   */
  async function insertCompact(table: CompactTable, rows: CompactRows, token: string, splits: SplitMemo): Promise<void> {
    if (rows.rows === 0) return;
    const columns = rows.columns;
    // The rows stay bytes on the way to the engine; lines are cut apart only to split.
    const body = rows.text.length === 1 ? rows.text[0]! : Buffer.concat(rows.text);
    const linesOf = () => body.toString('utf8').slice(0, -1).split('\n');
    const partColumn = PARTITION_COLUMN[table];
    let groups: Array<{ lines: string[] | null; suffix: string }> = [{ lines: null, suffix: '' }];
    if (partColumn && rows.parts.size > MAX_PARTITIONS_PER_INSERT) {
      const column = columns.indexOf(partColumn);
      const byLine = partitionGroups(linesOf(), (line) => monthOf((JSON.parse(line) as unknown[])[column]));
      groups = byLine.map((g) => ({ lines: g.rows, suffix: g.suffix }));
    }
    for (const group of groups) {
      const t = `${token}${group.suffix}`;
      if (!splits.has(t)) {
        try {
          await insertText(table, columns, group.lines ? bodyOf(group.lines) : body, group.lines?.length ?? rows.rows, t);
          continue;
        } catch (err) {
          if (!isDataError(err)) throw err;
        }
      }
      // Refused for its content: retried whole once more by insertSplitting (it fails the same
      // way), which then records the split and bisects.
      await insertSplitting(group.lines ?? linesOf(), t, {
        insert: (lines, lt) => insertText(table, columns, bodyOf(lines), lines.length, lt),
        quarantine: async (line, lt, err) => {
          await quarantine.put(table, rowOfLine(columns, line), lt, err);
          metrics?.quarantinedRows.inc({ table });
        },
        splits,
        onSplit: () => metrics?.insertSplits.inc({ table }),
      });
    }
  }

  async function readProfiles(ops: readonly ProfileOp[]): Promise<Map<string, ProfileRow>> {
    const projects = [...new Set(ops.map((o) => o.project_id))];
    const ids = [...new Set(ops.map((o) => o.profile_id))];
    const rs = await ch.query({
      query: `SELECT ${PROFILE_COLUMNS.join(', ')} FROM profiles FINAL
        WHERE project_id IN {projects:Array(String)} AND id IN {ids:Array(String)}`,
      query_params: { projects, ids },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<ProfileRow>();
    return new Map(rows.map((r) => [profileKey(r.project_id, r.id), r]));
  }

  async function writeProfiles(ops: readonly ProfileOp[], token: string, splits: SplitMemo): Promise<void> {
    if (ops.length === 0) return;
    const run = profileChain.then(async () => {
      const current = await readProfiles(ops);
      await insert('profiles', applyProfileOps(current, ops as ProfileOp[], opts.maxProfileProperties), token, splits);
    });
    profileChain = run.catch(() => {});
    return run;
  }

  return {
    quarantine,
    insertRows,
    async write(batch, token, opts = {}) {
      if (!token) throw new Error('writer: a deduplication token is required');
      const splits = opts.splits ?? memorySplitMemo();
      const end = metrics?.flushSeconds.startTimer();
      const results = await Promise.allSettled([
        insert('events', batch.events, token, splits),
        insert('sessions', batch.sessions, token, splits),
        insert('groups', batch.groups, token, splits),
        insert('replays', batch.replays, token, splits),
        writeProfiles(batch.profiles, token, splits),
      ]);
      end?.();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async writeChunk(chunk, token, opts = {}) {
      if (!token) throw new Error('writer: a deduplication token is required');
      const splits = opts.splits ?? memorySplitMemo();
      const end = metrics?.flushSeconds.startTimer();
      const results = await Promise.allSettled([
        insertCompactGroups('events', chunk.tables.events, token, splits),
        insertCompactGroups('sessions', chunk.tables.sessions, token, splits),
        insertCompactGroups('groups', chunk.tables.groups, token, splits),
        insertCompactGroups('replays', chunk.tables.replays, token, splits),
        writeProfiles(chunk.profiles, token, splits),
      ]);
      end?.();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
