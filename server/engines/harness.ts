/**
 * What a contract test gets from an implementation under test: one engine instance, a way to
 * open more instances over the same state (other processes — for Redis each has its own
 * connection; for memory they are the same instance), and a cleanup that removes what the
 * test created.
 */
export interface Harness<T> {
  store: T;
  /** `n` more handles on the same state, as other nodes would hold them. */
  peers(n: number): Promise<T[]>;
  /** Closes everything the harness opened and deletes its keys. */
  cleanup(): Promise<void>;
}

/** A harness for memory engines: every peer is the one instance. */
export function memoryHarness<T extends { close(): Promise<void> }>(store: T): Harness<T> {
  return {
    store,
    peers: async (n) => Array.from({ length: n }, () => store),
    cleanup: () => store.close(),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
