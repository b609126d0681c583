/**
 * A bounded map that remembers recent keys (the embedded dedupe's table of client event ids):
 * two generations of plain Maps. Writes
 * go to the current generation; once it holds `capacity` keys it becomes the previous one and
 * the generation before is dropped whole. A read that finds its key only in the previous
 * generation copies it into the current one (recently used keys stay, as in an LRU).
 *
 * Guarantee: a key is forgotten only after at least `capacity` other distinct keys were
 * written since its own latest write or promoting read — the `capacity` most recently written
 * keys are always held — and at most 2 × `capacity` keys are held.
 *
 * Why not evict one key at a time from a Map (`map.keys().next()`): V8 leaves deleted entries
 * as holes at the front of the table until it is rehashed, and every such call walks over them
 * — 25–90 µs per eviction past 200,000 keys (docs/benchmarks.md). Here nothing is ever
 * iterated; a whole generation is released at once. Cheaper than lru-cache too: no linked
 * list to update on each read, no per-entry TTL arrays.
 */
/** Values must not be `undefined` (a read answers `undefined` for a missing key). */
export interface RecentMap<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  /** `set` for a key known to be in neither generation (a `get` just missed it): one lookup less. */
  add(key: K, value: V): void;
  delete(key: K): void;
  /** Keys held, both generations (a key is in one of them only). */
  readonly size: number;
  clear(): void;
}

export function createRecentMap<K, V>(capacity: number): RecentMap<K, V> {
  if (!(capacity >= 1)) throw new Error('recent map: capacity must be at least 1');
  let current = new Map<K, V>();
  let previous = new Map<K, V>();

  /** Adds `key`, absent from both generations, to the current one (which moves on when full). */
  function add(key: K, value: V): void {
    if (current.size >= capacity) {
      previous = current;
      current = new Map();
    }
    current.set(key, value);
  }

  // The dedupe's lookups are cache misses in tables of 200,000+ keys, a tenth of the `/ws`
  // ingest thread: each is spared where it can be. A key in the current generation is in no
  // other, and Map.set tells by the size whether the key was there.
  function set(key: K, value: V): void {
    const held = current.size;
    if (held < capacity) {
      current.set(key, value);
      if (current.size > held) previous.delete(key); // its copy there would come back after a `delete`
    } else if (current.has(key)) current.set(key, value);
    else {
      previous.delete(key);
      add(key, value);
    }
  }

  return {
    get(key) {
      const v = current.get(key);
      if (v !== undefined) return v;
      const old = previous.get(key);
      if (old === undefined) return undefined;
      previous.delete(key);
      add(key, old);
      return old;
    },
    set,
    add,
    delete(key) {
      current.delete(key);
      previous.delete(key);
    },
    get size() {
      return current.size + previous.size;
    },
    clear() {
      current = new Map();
      previous = new Map();
    },
  };
}
