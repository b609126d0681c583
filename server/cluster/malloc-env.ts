/**
 * glibc malloc settings the server runs with. glibc reads them from the environment when the
 * process starts, so they cannot be set from inside; `npm start` (package.json) and
 * `startNode` (local-cluster.ts) set them unless the environment already does.
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
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '1048576',
};
