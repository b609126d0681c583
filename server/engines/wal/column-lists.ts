/**
 * The column lists format-2 WAL lines are written with (batch-format.ts). A line holds a row's
 * values by position only, and a log written by one version is replayed by the next after an
 * upgrade (a crash or an unclean stop, then a start of the new version). So every list a
 * section was ever written with stays known here, oldest first, and a section header names its
 * list by a short id (`"cols":"1x2y3z"`, a CRC-32 of the names) — no header means the table's
 * first list, which is what every log written before ids existed holds. Naming the list by id
 * costs a record nothing today (the current lists are the first ones) and ~20 bytes per table
 * section after a change, where naming every column would cost /track hundreds of bytes per
 * fsync'd 1-event record.
 *
 * When shared/rows.ts adds, removes or moves a column of one of these tables, append the new
 * list here (batch-format.columns.test.ts fails until it is); never remove a list while logs
 * written with it may exist. A log is then read as written: its lines are inserted under the
 * columns they were written with (an added column takes its default), and the values of a
 * column the current version no longer has are dropped from the lines when read (the
 * migration that removed the column dropped its stored values the same way).
 */
import { crc32 } from 'node:zlib';
import { EventRow, GroupRow, ReplayRow, SessionRow } from '../../../shared/rows.ts';

/** The kinds stored as JSONCompactEachRow lines. */
export const COMPACT_TABLES = ['events', 'sessions', 'groups', 'replays'] as const;
export type CompactTable = (typeof COMPACT_TABLES)[number];

/** Each compact table's current columns, the order its lines are written in (shared/rows.ts = db/clickhouse names). */
export const TABLE_COLUMNS: Record<CompactTable, readonly string[]> = {
  events: Object.keys(EventRow.shape),
  sessions: Object.keys(SessionRow.shape),
  groups: Object.keys(GroupRow.shape),
  replays: Object.keys(ReplayRow.shape),
};

const list = (names: string): readonly string[] => names.split(',');

/** Every list each table's lines have been written with, oldest first (see the module comment). */
export const WRITTEN_COLUMNS: Record<CompactTable, ReadonlyArray<readonly string[]>> = {
  events: [
    list(
      'id,project_id,name,device_id,profile_id,session_id,created_at,received_at,path,origin,title,referrer,referrer_name,referrer_type,utm_source,utm_medium,utm_campaign,utm_term,utm_content,revenue,duration,properties,groups,country,region,city,latitude,longitude,os,os_version,browser,browser_version,device,brand,model,sdk_name,sdk_version',
    ),
  ],
  sessions: [
    list(
      'id,project_id,device_id,profile_id,created_at,ended_at,duration,event_count,screen_view_count,is_bounce,entry_path,entry_origin,exit_path,exit_origin,referrer,referrer_name,referrer_type,utm_source,utm_medium,utm_campaign,utm_term,utm_content,revenue,country,region,city,os,os_version,browser,browser_version,device,brand,model',
    ),
  ],
  groups: [list('project_id,id,type,name,properties,updated_at')],
  replays: [list('project_id,session_id,device_id,chunk_index,started_at,ended_at,events_count,is_full_snapshot,payload')],
};

/** A column list's id, as section headers name it. */
export function columnsId(columns: readonly string[]): string {
  return crc32(columns.join(',')).toString(36);
}

/** The lists a log is written and read with: the current ones, and every one written so far. Tests inject others. */
export interface ColumnLists {
  current: Record<CompactTable, readonly string[]>;
  written: Record<CompactTable, ReadonlyArray<readonly string[]>>;
}

export const WAL_COLUMNS: ColumnLists = { current: TABLE_COLUMNS, written: WRITTEN_COLUMNS };

/** The `cols` a section of `table` is written with: none while the current list is the first. */
export function sectionColumnsId(table: CompactTable, lists: ColumnLists): string | undefined {
  let ids = writeMemo.get(lists);
  if (!ids) {
    ids = new Map();
    for (const t of COMPACT_TABLES) {
      const first = lists.written[t][0];
      ids.set(t, first && sameColumns(first, lists.current[t]) ? undefined : columnsId(lists.current[t]));
    }
    writeMemo.set(lists, ids);
  }
  return ids.get(table);
}
const writeMemo = new WeakMap<ColumnLists, Map<CompactTable, string | undefined>>();

/**
 * How the lines of a section of `table` naming `id` (none: the first list) are read: `written`,
 * the list they were written with, and `kept`, the part of it the current version still has
 * (`written` itself when nothing was removed). Throws for a list this version does not know.
 * Looked up once per list: the insert thread reads a section per record.
 */
export function sectionColumns(table: CompactTable, id: string | undefined, lists: ColumnLists): { written: readonly string[]; kept: readonly string[] } {
  let memo = readMemo.get(lists);
  if (!memo) {
    memo = new Map();
    readMemo.set(lists, memo);
  }
  const key = `${table}:${id ?? ''}`;
  let found = memo.get(key);
  if (!found) {
    const current = lists.current[table];
    const written = id === undefined ? lists.written[table][0] : [...lists.written[table], current].find((c) => columnsId(c) === id);
    if (!written) throw new UnknownColumnsError(table, id);
    found = { written, kept: written.every((c) => current.includes(c)) ? written : written.filter((c) => current.includes(c)) };
    memo.set(key, found);
  }
  return found;
}
const readMemo = new WeakMap<ColumnLists, Map<string, { written: readonly string[]; kept: readonly string[] }>>();

/** Lines written with a column list this version does not know: by a newer version. */
export class UnknownColumnsError extends Error {
  constructor(table: CompactTable, id: string | undefined) {
    super(`${table} lines written with columns this version does not know (${String(id)}): written by a newer version`);
    this.name = 'UnknownColumnsError';
  }
}

export function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((c, i) => c === b[i]));
}
