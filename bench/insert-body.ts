/**
 * What handing an insert's rows to chDB costs, by how they are handed: the writer's compact
 * rows (JSONCompactEachRow lines, as the write-ahead log and the worker's jobs hold them) sent
 * as SQL text (`string`: joined, decoded to a JS string, the statement prepended, copied back
 * to UTF-8 by chDB — what the writer did before `insertBytes`) or as one buffer (`bytes`:
 * `insertBytes`, chDB's raw insert). Both variants run in one process on one folder, in turns
 * (string, bytes, bytes, string, …), fresh ids per insert; prints the CPU of the whole process
 * per insert (chDB's threads and merges included) and the JS-only part of the string variant.
 *
 * Usage: tsx bench/insert-body.ts [--rows 10000] [--inserts 16] [--out FILE]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { addRowsToChunk, type CompactRows, emptyChunk } from '../server/engines/wal/batch-format.ts';
import { makeEvents } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createClickhouse, insertBytes, sqlString } from '../server/store/clickhouse.ts';
import type { WriteBatch } from '../shared/rows.ts';

const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '10000' }, inserts: { type: 'string', default: '16' }, out: { type: 'string' } },
});
const ROWS = Number(args.rows);
const INSERTS = Number(args.inserts);

function compactEvents(): CompactRows {
  const chunk = emptyChunk();
  const batch: WriteBatch = { events: makeEvents(ROWS).map((r) => ({ ...r, id: randomUUID() })), sessions: [], groups: [], replays: [], profiles: [] };
  addRowsToChunk(batch, chunk);
  return chunk.tables.events[0]!;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-body-'));
const ch = await createClickhouse({ kind: 'chdb', dir, database: 'livepanel' });
try {
  await migrateClickhouse(ch, 'livepanel');
  const settings = (token: string) => ({ insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1 });
  /** The statement and its text, as the writer built them before. */
  const asString = (rows: CompactRows, token: string) => {
    const text = (rows.text.length === 1 ? rows.text[0]! : Buffer.concat(rows.text)).toString('utf8');
    const set = Object.entries(settings(token)).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : sqlString(v)}`);
    return `INSERT INTO events (${rows.columns.join(', ')}) SETTINGS ${set.join(', ')} FORMAT JSONCompactEachRow\n${text}`;
  };
  const variants = {
    string: (rows: CompactRows) => ch.command({ query: asString(rows, randomUUID()) }).then(() => undefined),
    bytes: (rows: CompactRows) =>
      insertBytes(ch, {
        table: 'events',
        columns: rows.columns,
        format: 'JSONCompactEachRow',
        body: Buffer.concat(rows.text),
        settings: settings(randomUUID()),
      }),
  };
  await variants.string(compactEvents());
  const cpu: Record<keyof typeof variants, number[]> = { string: [], bytes: [] };
  const jsOnly: number[] = [];
  for (let i = 0; i < INSERTS; i++) {
    const order: Array<keyof typeof variants> = i % 2 === 0 ? ['string', 'bytes'] : ['bytes', 'string'];
    for (const name of order) {
      const rows = compactEvents();
      const c = process.cpuUsage();
      await variants[name](rows);
      const d = process.cpuUsage(c);
      cpu[name].push((d.user + d.system) / 1000);
    }
    // The string variant's work before chDB parses anything: building the text and its UTF-8 copy.
    const rows = compactEvents();
    const c = process.cpuUsage();
    Buffer.byteLength(asString(rows, 'x'));
    Buffer.from(asString(rows, 'x'));
    const d = process.cpuUsage(c);
    jsOnly.push((d.user + d.system) / 2000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const result = {
    rows: ROWS,
    inserts: INSERTS,
    load: os.loadavg().map(r1),
    medianCpuMs: { string: r1(median(cpu.string)), bytes: r1(median(cpu.bytes)) },
    meanCpuMs: { string: r1(mean(cpu.string)), bytes: r1(mean(cpu.bytes)) },
    pairedMedianSavingMs: r1(median(cpu.string.map((s, i) => s - cpu.bytes[i]!))),
    stringJsOnlyMedianMs: r1(median(jsOnly)),
    cpuMs: { string: cpu.string.map(r1), bytes: cpu.bytes.map(r1) },
  };
  console.log(JSON.stringify(result));
  if (args.out) writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
}
