/**
 * Cache: short-lived, shared lookups (a project by client id, allowed origins, a dashboard's
 * query result) so hot paths skip PostgreSQL and ClickHouse. Values are JSON: what `get`
 * returns is a parsed copy (Dates come back as strings), the same on every implementation.
 * A cache may forget anything early; it is never the only copy of data.
 * Implementations: `cache.memory.ts`, `cache.redis.ts`; both pass `cache.contract.ts`.
 */
export interface Cache {
  /**
   * The value stored under `key`, or undefined when absent or expired. `T` is the caller's
   * claim about what it stored; validate with zod where the writer is another process.
   */
  get<T>(key: string): Promise<T | undefined>;
  /** Stores a JSON-serialisable value for `ttlMs` (replacing any previous one). */
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /** Removes `key` (a no-op when absent). */
  delete(key: string): Promise<void>;
  /** Releases what the cache opened (not a client it was given). */
  close(): Promise<void>;
}

/** JSON text of a cache value; refuses values JSON cannot represent (undefined, functions). */
export function toJson(key: string, value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`cache: value for ${key} is not JSON-serialisable`);
  return json;
}
