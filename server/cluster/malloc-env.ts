/**
 * Allocator settings the server runs with: glibc's malloc (Node's and most native code) and
 * the jemalloc linked into libchdb (chDB's own allocations). Both read them from the
 * environment when they start, so they cannot be set from inside; `npm start` (package.json)
 * and `startNode` (local-cluster.ts) set them unless the environment already does.
 *
 * - `MALLOC_ARENA_MAX=2`: each native thread that allocates (chDB's insert, merge and pool
 *   threads) may otherwise get an arena of its own that keeps what it freed (≈ 50 MB at the
 *   embedded shape's `/ws` peak).
 * - `MALLOC_MMAP_THRESHOLD_=1048576`: allocations of 1 MiB and more get pages of their own,
 *   returned to the system when freed. glibc's default starts at 128 KiB but raises the
 *   threshold to the size of each large block freed, up to 32 MiB, after which chDB's insert
 *   blocks and the write-ahead log's chunk buffers are carved from the arenas and stay resident
 *   after they are freed. Setting it turns that raising off. 1 MiB and not 128 KiB: at 128 KiB
 *   the blocks chDB allocates and frees on every insert are mapped and faulted in each time,
 *   which cost ≈ 7 % more CPU per stored event under `/ws` (docs/benchmarks.md, "glibc's mmap
 *   threshold").
 * - `JE_MALLOC_CONF=dirty_decay_ms:1000`: chDB's jemalloc (`JE_` is its prefix: it ignores
 *   `MALLOC_CONF`) keeps pages it freed for `dirty_decay_ms` before giving them back, 5 s in
 *   libchdb's build. Under `/ws` that held 100–120 MB of freed insert and merge buffers at the
 *   peak; 1 s holds ≈ 30 MB (docs/benchmarks.md, "Where the embedded process's memory goes").
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '1048576',
  JE_MALLOC_CONF: 'dirty_decay_ms:1000',
};
