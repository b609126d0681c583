/**
 * Normalize step (first enrichment step): consumes the SDK's magic `__` properties (time, page,
 * title, referrer, revenue, IP and user-agent overrides, device id) and flattens what is left
 * into the row's string map, enforcing the property limits. An event over a hard limit is
 * rejected on its own with an AppError; the runner turns that into a per-event rejection.
 */
import { isIP } from 'node:net';
import { MAGIC } from '../../../shared/track.ts';
import { AppError } from '../../errors.ts';
import type { Draft, Step } from '../types.ts';

/** Property limits, per event. */
export const PROPERTY_LIMITS = {
  /** Deepest nesting, counted in key segments: `a.b.c` is depth 3. Deeper → 400 `too_deep`. */
  maxDepth: 8,
  /** Most flattened keys. More → 400 `too_many_properties`. */
  maxKeys: 500,
  /** Longest flattened key (UTF-16 units). Longer → 400 `invalid_event`. */
  maxKeyLength: 200,
  /** Longest value in UTF-8 bytes. Longer values are truncated, not rejected: one chatty value
   * (a stack trace, a serialised blob) should not cost the whole event. */
  maxValueBytes: 8 * 1024,
  /** Longest SDK-supplied device id. */
  maxDeviceIdLength: 64,
  /** Longest `__userAgent` override kept (longer ones are cut, like any header would be). */
  maxUserAgentLength: 1024,
} as const;

const MAGIC_KEYS: ReadonlySet<string> = new Set(Object.values(MAGIC));
const NUMERIC = /^\d+(\.\d+)?$/;
// ISO-looking times without a zone ('2024-05-01T10:00:00', '2024-05-01 10:00:00.123') are UTC,
// not the server's local time.
const ZONELESS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;
const encoder = new TextEncoder();
const scratch = new Uint8Array(PROPERTY_LIMITS.maxValueBytes);

/** Cuts `s` to at most `maxValueBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string): string {
  if (s.length * 3 <= PROPERTY_LIMITS.maxValueBytes) return s; // fast path: cannot be over
  const { read } = encoder.encodeInto(s, scratch);
  return read < s.length ? s.slice(0, read) : s;
}

/** Milliseconds from an ISO string or an epoch-ms number; undefined when not a usable time. */
export function parseTimestamp(v: unknown): number | undefined {
  let t: number;
  if (typeof v === 'number') t = v;
  else if (typeof v === 'string') t = Date.parse(ZONELESS.test(v) ? `${v.replace(' ', 'T')}Z` : v);
  else return undefined;
  // Before 1970 is not a client clock we believe (and chTime cannot write it).
  return Number.isFinite(t) && t >= 0 ? t : undefined;
}

/** A string as it can be stored: lone UTF-16 surrogates (which no UTF-8 encoder can write) become U+FFFD. */
export const wellFormed = (s: string): string => (s.isWellFormed() ? s : s.toWellFormed());

/**
 * Flattens properties to dotted keys with string values: `{a:{b:[1,true]}}` →
 * `{'a.b.0':'1','a.b.1':'true'}`; null and undefined are skipped, as are empty objects and
 * arrays. Keys and values come out well-formed (see `wellFormed`) and values cut to
 * `maxValueBytes`. Throws AppError when a limit in PROPERTY_LIMITS is exceeded.
 *
 * Iterative, with its own stack, in the same depth-first order a recursive walk would take:
 * this is the one pass over client properties, and it must neither recurse (a value nested
 * thousands of levels deep would overflow the stack) nor walk further than the limits allow.
 */
export function flattenProperties(props: Record<string, unknown>): Record<string, string> {
  return flattenFlat(props) ?? flattenNested(props);
}

/** The text a primitive property value is stored as (well-formed, cut to `maxValueBytes`). */
const valueText = (value: string | number | boolean | bigint | symbol): string =>
  truncateUtf8(wellFormed(typeof value === 'string' ? value : typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value)));

/** Sets `out[key]`, keeping a `__proto__` key as data (plain assignment would set the prototype). */
function setText(out: Record<string, string>, key: string, text: string): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value: text, enumerable: true, writable: true, configurable: true });
  else out[key] = text;
}

/** The limits on each flattened property: its key's length, and the `count`-th of the event's. */
function checkLeaf(key: string, count: number): void {
  if (key.length > PROPERTY_LIMITS.maxKeyLength) {
    throw new AppError(400, 'invalid_event', `Property key longer than ${PROPERTY_LIMITS.maxKeyLength} characters: "${key.slice(0, 40)}…"`);
  }
  if (count > PROPERTY_LIMITS.maxKeys) {
    throw new AppError(400, 'too_many_properties', `More than ${PROPERTY_LIMITS.maxKeys} properties once flattened`);
  }
}

/**
 * `flattenNested` for the usual properties — no object or array values — in one loop without
 * the walk's stacks; undefined when a value nests (the walk then starts over). Checks the same
 * limits in the same order, so it throws what the walk would.
 */
function flattenFlat(props: Record<string, unknown>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let count = 0;
  for (const k in props) {
    if (!Object.hasOwn(props, k)) continue;
    const value = props[k];
    if (value === null || value === undefined) continue;
    if (typeof value === 'object' || typeof value === 'function') return undefined;
    const key = wellFormed(k);
    checkLeaf(key, ++count);
    setText(out, key, valueText(value as string | number | boolean));
  }
  return out;
}

function flattenNested(props: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  let count = 0;
  const values: unknown[] = [props];
  const keys: string[] = [''];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const key = keys.pop()!;
    const depth = depths.pop()!;
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') {
      if (depth >= PROPERTY_LIMITS.maxDepth) {
        throw new AppError(400, 'too_deep', `Properties nest deeper than ${PROPERTY_LIMITS.maxDepth} levels (at "${wellFormed(key.slice(0, 200))}")`);
      }
      const prefix = key === '' ? '' : `${key}.`;
      // Children are pushed in reverse so they pop in order.
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) {
          values.push(value[i]);
          keys.push(prefix + i);
          depths.push(depth + 1);
        }
      } else {
        const own = Object.keys(value);
        for (let i = own.length - 1; i >= 0; i--) {
          const k = own[i]!;
          values.push((value as Record<string, unknown>)[k]);
          keys.push(prefix + wellFormed(k));
          depths.push(depth + 1);
        }
      }
      continue;
    }
    checkLeaf(key, ++count);
    // A `__proto__` key (JSON.parse makes it an own property) must stay data.
    setText(out, key, valueText(value as string | number | boolean));
  }
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? truncateUtf8(wellFormed(v.trim())) : undefined);

function applyMagic(d: Draft, props: Record<string, unknown>): void {
  const at = parseTimestamp(props[MAGIC.timestamp]);
  if (at !== undefined) d.at = at;

  const path = str(props[MAGIC.path]);
  if (path) d.row.path = path; // a full URL on the web: the url step splits off the origin
  const title = str(props[MAGIC.title]);
  if (title !== undefined) d.row.title = title;
  const referrer = str(props[MAGIC.referrer]);
  if (referrer !== undefined) d.row.referrer = referrer;

  const revenue = props[MAGIC.revenue];
  if (typeof revenue === 'number' && Number.isSafeInteger(revenue) && revenue >= 0) d.row.revenue = revenue;

  const deviceId = props[MAGIC.deviceId];
  if (typeof deviceId === 'string' && deviceId.trim().length > 0 && deviceId.length <= PROPERTY_LIMITS.maxDeviceIdLength) {
    d.sdkDeviceId = deviceId.trim();
  }

  // Overriding who the visitor is only counts from a caller that proved its secret: anyone can
  // put `__ip` in a browser event, and trusting it would let pages forge geo and device ids.
  if (d.caller.viaSecret) {
    const ip = props[MAGIC.ip];
    if (typeof ip === 'string' && isIP(ip.trim()) !== 0) d.ip = ip.trim();
    const ua = props[MAGIC.userAgent];
    if (typeof ua === 'string') d.userAgent = ua.trim().slice(0, PROPERTY_LIMITS.maxUserAgentLength);
  }
}

function hasMagic(props: Record<string, unknown>): boolean {
  for (const k in props) if (MAGIC_KEYS.has(k) && Object.hasOwn(props, k)) return true;
  return false;
}

/**
 * The properties without the magic keys: a new object (the validated body stays as it came;
 * without magic keys the body's own object is used, as nothing edits it). A `__proto__` key
 * stays data instead of becoming the object's prototype.
 */
function withoutMagic(props: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const k in props) {
    if (!Object.hasOwn(props, k) || MAGIC_KEYS.has(k)) continue;
    if (k === '__proto__') Object.defineProperty(rest, k, { value: props[k], enumerable: true, writable: true, configurable: true });
    else rest[k] = props[k];
  }
  return rest;
}

function durationOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : Number.NaN;
  const rounded = Math.round(n);
  return Number.isSafeInteger(rounded) && rounded >= 0 ? rounded : undefined;
}

/** The normalize step; see the module header. Runs first: later steps read what it sets. */
export const normalizeStep: Step = {
  name: 'normalize',
  run(d) {
    const props = d.properties;
    let rest = props;
    if (hasMagic(props)) {
      applyMagic(d, props);
      rest = withoutMagic(props);
    }
    d.properties = rest;
    d.row.properties = flattenProperties(rest);
    const duration = durationOf(rest.duration);
    if (duration !== undefined) d.row.duration = duration;
    return d;
  },
};
