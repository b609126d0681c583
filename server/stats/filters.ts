/**
 * Filters of the query model — `[op, dimension, values, {case_sensitive?}]` combined with
 * and/or/not — compiled two ways from the same definitions: to a SQL condition (values bound
 * as parameters) and to a predicate over an in-memory row (live ticks and tiles). Both read the
 * dimension through the registry, so a filter means the same thing stored and live.
 *
 * Semantics (one place, both compilers):
 * - is / is_not: the value equals one of `values` (is_not: none of them).
 * - contains, starts_with, ends_with, matches (RE2 in ClickHouse; JavaScript RegExp live,
 *   patterns that could backtrack exponentially are refused by the schema): any value matches.
 *   The not_ forms are the negation.
 * - gt, gte, lt, lte: the value read as a number (a value that is not a number never matches).
 * - is_set / is_not_set: the value is non-empty / empty (an absent property is empty).
 * - case_sensitive (default true): false compares lower-cased (Unicode) text.
 * Every negative operator is exactly NOT of its positive one, in SQL and live alike.
 */
import type { Condition, FilterTree } from '../../shared/query.ts';
import type { FilterOp } from '../../shared/query-terms.ts';
import type { EventRow } from '../../shared/rows.ts';
import { type DimensionDef, dimension } from './dimensions.ts';
import { invalidQuery } from './invalid.ts';
import type { Params } from './sql.ts';

export type PositiveOp = 'is' | 'contains' | 'starts_with' | 'ends_with' | 'matches' | 'gt' | 'gte' | 'lt' | 'lte' | 'is_set';

const NEGATION: Partial<Record<FilterOp, PositiveOp>> = { is_not: 'is', not_contains: 'contains', not_matches: 'matches', is_not_set: 'is_set' };

/** `op` as a positive operator plus whether the condition is its negation. */
export function positiveOf(op: FilterOp): { op: PositiveOp; negated: boolean } {
  const pos = NEGATION[op];
  return pos ? { op: pos, negated: true } : { op: op as PositiveOp, negated: false };
}

/** The registry entry of a condition's dimension (the schema has checked the name's shape). */
export function dimensionOf(c: Condition): DimensionDef {
  const def = dimension(c[1]);
  if (!def) throw invalidQuery(`unknown dimension ${c[1]}`);
  return def;
}

/**
 * SQL for the positive operator applied to `x` (a String expression). The caller negates.
 * Values are bound as parameters; case-insensitive comparisons lower both sides (lowerUTF8).
 */
export function positiveSql(op: PositiveOp, x: string, values: Array<string | number>, caseSensitive: boolean, p: Params): string {
  const strs = values.map(String);
  const lower = (s: string) => (caseSensitive ? s : s.toLowerCase());
  const subject = caseSensitive ? x : `lowerUTF8(${x})`;
  const any = (parts: string[]) => (parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`);
  switch (op) {
    case 'is':
      return strs.length === 1 ? `${subject} = ${p.bind(lower(strs[0]!))}` : `${subject} IN ${p.bind(strs.map(lower), 'Array(String)')}`;
    case 'contains':
      return any(strs.map((v) => `position(${subject}, ${p.bind(lower(v))}) > 0`));
    case 'starts_with':
      return any(strs.map((v) => `startsWith(${subject}, ${p.bind(lower(v))})`));
    case 'ends_with':
      return any(strs.map((v) => `endsWith(${subject}, ${p.bind(lower(v))})`));
    case 'matches':
      return any(strs.map((v) => `match(${x}, ${p.bind(caseSensitive ? v : `(?i)${v}`)})`));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const cmp = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[op];
      return `ifNull(toFloat64OrNull(${x}) ${cmp} ${p.bind(Number(values[0]), 'Float64')}, 0)`;
    }
    case 'is_set':
      return `${x} != ''`;
  }
}

/**
 * Compiles a filter list (an implicit `and`) to one SQL condition. `leaf` turns a single
 * condition into SQL for the table at hand — a plain expression on its columns, or a
 * subquery when the dimension lives elsewhere; it returns the positive form and this
 * function adds the NOT. Returns '' for an empty list.
 */
export function treeSql(trees: readonly FilterTree[], leaf: (c: Condition, op: PositiveOp) => string): string {
  const walk = (t: FilterTree): string => {
    if (t[0] === 'and' || t[0] === 'or') {
      const parts = (t[1] as FilterTree[]).map(walk);
      return parts.length === 1 ? parts[0]! : `(${parts.join(t[0] === 'and' ? ' AND ' : ' OR ')})`;
    }
    if (t[0] === 'not') return `NOT ${walk(t[1] as FilterTree)}`;
    const c = t as Condition;
    const { op, negated } = positiveOf(c[0]);
    const sql = leaf(c, op);
    return negated ? `NOT ${sql}` : sql;
  };
  const parts = trees.map(walk);
  return parts.length <= 1 ? (parts[0] ?? '') : parts.join(' AND ');
}

/** The positive operator on an in-memory value, exactly as positiveSql does it in SQL. */
export function positiveTest(op: PositiveOp, value: string, values: Array<string | number>, caseSensitive: boolean): boolean {
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase());
  const v = norm(value);
  const strs = values.map((x) => norm(String(x)));
  switch (op) {
    case 'is':
      return strs.includes(v);
    case 'contains':
      return strs.some((s) => v.includes(s));
    case 'starts_with':
      return strs.some((s) => v.startsWith(s));
    case 'ends_with':
      return strs.some((s) => v.endsWith(s));
    case 'matches':
      return values.some((s) => new RegExp(String(s), caseSensitive ? '' : 'i').test(value));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (value.trim() === '') return false;
      const n = Number(value);
      const bound = Number(values[0]);
      if (!Number.isFinite(n)) return false;
      return op === 'gt' ? n > bound : op === 'gte' ? n >= bound : op === 'lt' ? n < bound : n <= bound;
    }
    case 'is_set':
      return value !== '';
  }
}

/**
 * A predicate over in-memory event rows for a filter list, for live evaluation. Throws
 * AppError (invalid_query) when a condition's dimension cannot be read from a row (profile properties,
 * the exit page, time).
 */
export function rowPredicate(trees: readonly FilterTree[]): (r: EventRow) => boolean {
  const compile = (t: FilterTree): ((r: EventRow) => boolean) => {
    if (t[0] === 'and' || t[0] === 'or') {
      const parts = (t[1] as FilterTree[]).map(compile);
      return t[0] === 'and' ? (r) => parts.every((f) => f(r)) : (r) => parts.some((f) => f(r));
    }
    if (t[0] === 'not') {
      const inner = compile(t[1] as FilterTree);
      return (r) => !inner(r);
    }
    const c = t as Condition;
    const def = dimensionOf(c);
    const read = def.row;
    if (!read) throw invalidQuery(`${c[1]} cannot be evaluated on a live event`);
    const { op, negated } = positiveOf(c[0]);
    const cs = c[3]?.case_sensitive ?? true;
    // Regular expressions are compiled once, not per row.
    if (op === 'matches') {
      const res = c[2].map((s) => new RegExp(String(s), cs ? '' : 'i'));
      return (r) => res.some((re) => re.test(read(r))) !== negated;
    }
    return (r) => positiveTest(op, read(r), c[2], cs) !== negated;
  };
  const all = trees.map(compile);
  return (r) => all.every((f) => f(r));
}
