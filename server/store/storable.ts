/**
 * Makes row values storable just before they are serialised for ClickHouse, whatever wrote
 * the row (the ingest pipeline, the session reaper, a write-ahead log from an older version, a
 * replayed quarantine entry):
 * - strings, map keys and values, array items: well-formed UTF-16 (a lone surrogate, which
 *   JSON.stringify writes as a `\ud800` escape ClickHouse refuses, becomes U+FFFD);
 * - integers clamped to their column's range (`revenue` is UInt64: a sum past 2^53 would be
 *   written as `1.0088e+21`, which ClickHouse cannot parse as an integer), non-finite → 0;
 * - coordinates: finite or null.
 * Times are left as they are: rows get them from `chTime`, which clamps to the DateTime64
 * range; a malformed time can only come from old data, and its row is quarantined instead.
 * Every check is a cheap test on the fast path; a value is copied only when it needs fixing.
 */

const UINT32_MAX = 4_294_967_295;

/** Integer columns whose type is narrower than the UInt64 default (db/clickhouse/*.sql). */
const INT_RANGES: Record<string, readonly [number, number]> = {
  event_count: [0, UINT32_MAX],
  screen_view_count: [0, UINT32_MAX],
  chunk_index: [0, UINT32_MAX],
  events_count: [0, UINT32_MAX],
  is_bounce: [0, 1],
  is_full_snapshot: [0, 1],
};
/** Float64 columns (nullable): any finite value. */
const FLOAT_COLUMNS: ReadonlySet<string> = new Set(['latitude', 'longitude']);
const UINT64_RANGE = [0, Number.MAX_SAFE_INTEGER] as const;

const wellFormed = (s: string): string => (s.isWellFormed() ? s : s.toWellFormed());

/** A storable copy of one value of `column` (the value itself when nothing needs fixing). */
export function storableValue(column: string, v: unknown): unknown {
  switch (typeof v) {
    case 'string':
      return wellFormed(v);
    case 'number': {
      if (FLOAT_COLUMNS.has(column)) return Number.isFinite(v) ? v : null;
      const [min, max] = INT_RANGES[column] ?? UINT64_RANGE;
      if (!Number.isFinite(v)) return min;
      const n = Number.isInteger(v) ? v : Math.round(v);
      return Math.min(Math.max(n, min), max);
    }
    case 'object':
      if (v === null) return v;
      if (Array.isArray(v)) return storableArray(v);
      return storableMap(v as Record<string, unknown>);
    default:
      return v;
  }
}

function storableArray(a: unknown[]): unknown[] {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'string' || !x.isWellFormed()) return a.map((y) => (typeof y === 'string' ? wellFormed(y) : String(y ?? '')));
  }
  return a;
}

function storableMap(m: Record<string, unknown>): Record<string, unknown> {
  for (const k in m) {
    const x = m[k];
    if (!k.isWellFormed() || typeof x !== 'string' || !x.isWellFormed()) return fixMap(m);
  }
  return m;
}

function fixMap(m: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(m)) {
    const x = m[k];
    const key = wellFormed(k);
    const value = typeof x === 'string' ? wellFormed(x) : x === null || x === undefined ? '' : String(x);
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/** The row's values in `columns` order, each made storable. */
export function storableRow(row: Record<string, unknown>, columns: readonly string[]): unknown[] {
  const out = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) out[i] = storableValue(columns[i]!, row[columns[i]!]);
  return out;
}
