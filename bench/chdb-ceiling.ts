/**
 * The storage ceiling for `npm run bench:ingest`: how many event rows per second chDB takes
 * through Livepanel's own insert path (`writer.writeChunk`: the rows' JSONCompactEachRow lines as
 * the write-ahead log and the worker's jobs hold them, handed to chDB as one buffer, a
 * deduplication token, the rollup views attached; encoding the lines is not measured), in inserts
 * of `rows` rows, in a fresh folder, in its own process — as the embedded server and the
 * distributed worker insert. No shape can store faster than this on the same machine at the
 * same moment; the benchmark prints each shape's stored rate as a ratio of it.
 *
 * Usage (the benchmark starts it): tsx bench/chdb-ceiling.ts <rows per insert> <inserts>
 * Prints one JSON line: { rows, inserts, seconds, rowsPerSecond, medianInsertMs, medianInsertCpuMs }
 * (CPU of the whole process per insert, chDB's threads and background merges included: it
 * holds up better than the wall time on a shared machine).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addRowsToChunk, type CompactChunk, emptyChunk } from '../server/engines/wal/batch-format.ts';
import { makeEvents } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../server/store/clickhouse.ts';
import { createWriter } from '../server/store/writer.ts';

const ROWS = Number(process.argv[2] ?? 20_000);
const INSERTS = Number(process.argv[3] ?? 6);

const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-ceiling-'));
const ch = await createClickhouse({ kind: 'chdb', dir, database: 'livepanel' });
try {
  await migrateClickhouse(ch, 'livepanel');
  const writer = createWriter(ch);
  // Fresh ids per insert (as distinct events would have), same widths and values otherwise.
  const batches = Array.from({ length: INSERTS + 1 }, (): CompactChunk => {
    const chunk = emptyChunk();
    addRowsToChunk({ events: makeEvents(ROWS).map((r) => ({ ...r, id: randomUUID() })), sessions: [], groups: [], replays: [], profiles: [] }, chunk);
    return chunk;
  });
  await writer.writeChunk(batches[0]!, `warm-${randomUUID()}`);
  const times: number[] = [];
  const cpus: number[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= INSERTS; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await writer.writeChunk(batches[i]!, `ceiling-${randomUUID()}`);
    const d = process.cpuUsage(c);
    times.push(performance.now() - t);
    cpus.push((d.user + d.system) / 1000);
  }
  const seconds = (performance.now() - t0) / 1000;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    JSON.stringify({
      rows: ROWS,
      inserts: INSERTS,
      seconds: Math.round(seconds * 100) / 100,
      rowsPerSecond: Math.round((ROWS * INSERTS) / seconds),
      medianInsertMs: Math.round(median(times)),
      medianInsertCpuMs: Math.round(median(cpus)),
    }),
  );
} finally {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
}
