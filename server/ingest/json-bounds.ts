/**
 * Measures parsed JSON from a client without recursion. `JSON.stringify`, structured clone
 * and any recursive walk overflow the stack on a value nested some ten thousand levels deep —
 * which fits in one 64 KB event — and a stack overflow thrown on a promise chain ends the
 * process. This walk keeps its own stack, stops at the first limit it passes (so its cost is
 * bounded by the limits, not by the input), and says which limit.
 */

/** Limits of one event as it arrived (before the normalize step flattens its properties). */
export interface JsonBounds {
  /** Largest size, in bytes of UTF-8 JSON (estimated from below: escapes count as one byte). */
  maxBytes: number;
  /** Deepest nesting of arrays and objects (the event envelope itself is 1). */
  maxDepth: number;
}

export type JsonVerdict = { ok: true; bytes: number } | { ok: false; code: 'payload_too_large' | 'too_deep' };

/**
 * Walks `value` depth-first with an explicit stack, summing an estimate of its JSON
 * size and tracking its depth. Strings count their UTF-16 length (a lower bound of their
 * UTF-8 size: an event under the limit may be slightly larger on the wire, never the reverse
 * by much), numbers and literals a few bytes, keys their length plus quotes and colon.
 */
export function checkJson(value: unknown, bounds: JsonBounds): JsonVerdict {
  let bytes = 0;
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v === 'string') bytes += v.length + 2;
    else if (typeof v === 'number') bytes += 8;
    else if (typeof v === 'boolean' || v === null) bytes += 5;
    else if (typeof v === 'object') {
      if (depth > bounds.maxDepth) return { ok: false, code: 'too_deep' };
      bytes += 2;
      if (Array.isArray(v)) {
        bytes += v.length;
        if (bytes > bounds.maxBytes) return { ok: false, code: 'payload_too_large' };
        for (let i = v.length - 1; i >= 0; i--) {
          values.push(v[i]);
          depths.push(depth + 1);
        }
      } else {
        for (const k in v) {
          if (!Object.hasOwn(v, k)) continue;
          bytes += k.length + 4;
          if (bytes > bounds.maxBytes) return { ok: false, code: 'payload_too_large' };
          values.push((v as Record<string, unknown>)[k]);
          depths.push(depth + 1);
        }
      }
    }
    if (bytes > bounds.maxBytes) return { ok: false, code: 'payload_too_large' };
  }
  return { ok: true, bytes };
}
