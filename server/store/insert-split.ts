/**
 * How the writer keeps one row from blocking the others.
 *
 * 1. Partitions: an insert touching more than ClickHouse's `max_partitions_per_insert_block`
 *    (100) partitions is refused whole, and events may legitimately span years (imports,
 *    offline queues), so rows are grouped by their table's partition key and inserted at most
 *    MAX_PARTITIONS_PER_INSERT partitions at a time — only when there are more (the usual
 *    insert keeps its plain token).
 * 2. Bisection: when ClickHouse refuses an insert for its content (a parse or type error, see
 *    DATA_ERRORS), the rows are split in halves, each inserted under a token derived from the
 *    parent's (`<token>/0`, `<token>/1`), recursively, until the refused row stands alone; it
 *    goes to the quarantine with its error and everything else is stored. Any other error (the
 *    store down, out of memory, too many parts, a schema mismatch) is not the row's fault: it
 *    is thrown, and the caller retries the whole insert later with the same token.
 *
 * Exactly once through splits: the rows and their order are the same on every retry (the WAL
 * re-reads the same byte range, the worker rebuilds the same group), so the halves and their
 * tokens are too, and ClickHouse drops a half that had landed before a crash. What must not
 * happen is trying the whole again once halves may have landed (a whole that now succeeds —
 * say after an upgrade — would store those halves' rows a second time): a split is recorded
 * in a SplitMemo before its halves are tried, and a recorded token is never tried whole.
 */

/** Remembers, durably for as long as the insert may be retried, which tokens were split. */
export interface SplitMemo {
  /** True if the insert with this token was split before: go straight to its halves. */
  has(token: string): boolean;
  /** Records that the insert with this token is being split; resolves once recorded. */
  add(token: string): Promise<void>;
  /** Every token recorded so far (a writer in another thread starts from these). */
  tokens(): string[];
}

/** A SplitMemo for one process's lifetime (callers whose inserts cannot outlive a crash). */
export function memorySplitMemo(initial: Iterable<string> = []): SplitMemo {
  const set = new Set(initial);
  return {
    has: (t) => set.has(t),
    add: async (t) => {
      set.add(t);
    },
    tokens: () => [...set],
  };
}

/**
 * ClickHouse error codes that mean "this data cannot be stored as it is", the same on every
 * attempt: parse and conversion errors, values out of range, constraints. Only these split
 * an insert and quarantine rows.
 */
const DATA_ERRORS: ReadonlySet<string> = new Set([
  '6', // CANNOT_PARSE_TEXT
  '25', // CANNOT_PARSE_ESCAPE_SEQUENCE
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
  '321', // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  '469', // VIOLATED_CONSTRAINT
]);

/** True when `err` is ClickHouse refusing the data itself (see DATA_ERRORS). */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return false;
  // 252 TOO_MANY_PARTS is also "too many partitions in one insert", which halving cures.
  return DATA_ERRORS.has(code) || (code === '252' && /partitions for single INSERT/i.test(String((err as Error).message)));
}

/** Most partitions one insert may touch (ClickHouse refuses more than 100 by default). */
export const MAX_PARTITIONS_PER_INSERT = 64;

/**
 * `rows` grouped so each group spans at most MAX_PARTITIONS_PER_INSERT partitions, with a
 * token suffix per group (`@<first partition>`); one group with suffix '' when they fit.
 */
export function partitionGroups<R>(rows: R[], partitionOf: ((row: R) => string) | undefined): Array<{ rows: R[]; suffix: string }> {
  if (!partitionOf || rows.length === 0) return [{ rows, suffix: '' }];
  const byPartition = new Map<string, R[]>();
  for (const r of rows) {
    const p = partitionOf(r);
    const list = byPartition.get(p);
    if (list) list.push(r);
    else byPartition.set(p, [r]);
  }
  if (byPartition.size <= MAX_PARTITIONS_PER_INSERT) return [{ rows, suffix: '' }];
  const keys = [...byPartition.keys()].sort();
  const groups: Array<{ rows: R[]; suffix: string }> = [];
  for (let i = 0; i < keys.length; i += MAX_PARTITIONS_PER_INSERT) {
    const part = keys.slice(i, i + MAX_PARTITIONS_PER_INSERT);
    groups.push({ rows: part.flatMap((k) => byPartition.get(k)!), suffix: `@${part[0]}` });
  }
  return groups;
}

export interface SplitInsert<R> {
  /** Inserts rows under a deduplication token; rejects with ClickHouse's error. */
  insert(rows: R[], token: string): Promise<void>;
  /** Stores a refused row with its error (called once the row stands alone). */
  quarantine(row: R, token: string, err: unknown): Promise<void>;
  splits: SplitMemo;
  /** Called for each split (metrics). */
  onSplit?(token: string, err: unknown): void;
}

/** Inserts `rows` under `token`, splitting refused inserts and quarantining refused rows (see the module comment). */
export async function insertSplitting<R>(rows: R[], token: string, how: SplitInsert<R>): Promise<void> {
  if (rows.length === 0) return;
  if (!how.splits.has(token)) {
    try {
      await how.insert(rows, token);
      return;
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (rows.length === 1) {
        await how.quarantine(rows[0]!, token, err);
        return;
      }
      await how.splits.add(token);
      how.onSplit?.(token, err);
    }
  }
  const mid = rows.length >> 1;
  await insertSplitting(rows.slice(0, mid), `${token}/0`, how);
  await insertSplitting(rows.slice(mid), `${token}/1`, how);
}
