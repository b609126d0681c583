/**
 * `tsx bench/wal-appender.ts [--records 3000] [--rounds 6] [--root DIR]` — CPU of the WAL
 * appender (server/engines/wal/appender.ts) per record the size of a `/ws` push (50 events,
 * 40 KB), 20 pushes in flight so records share groups, fsync on, the zero fill at its default.
 * With `--root`, that checkout's appender runs in alternation with this one (old, new, new,
 * old, …) in one process, so a loaded machine hits both alike. Process CPU, libuv's pool
 * included (where the writes run). Saves bench/results/wal-appender-<time>.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: { records: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '6' }, root: { type: 'string' } },
});
const RECORDS = Number(args.records);
const ROUNDS = Number(args.rounds);
const CALLERS = 20;
const RECORD = Buffer.alloc(40_000, 7);
const here = path.join(import.meta.dirname, '..');
const roots = args.root ? [path.resolve(args.root), here] : [here];
const appenders = await Promise.all(roots.map((r) => import(path.join(r, 'server/engines/wal/appender.ts'))));

/** CPU µs to append RECORDS fresh records with the appender of `roots[i]`. */
async function run(i: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-appender-'));
  try {
    const app = await appenders[i]!.openAppender({ dir, firstSegment: 1, segmentBytes: 64 * 1024 * 1024, fsync: true, onDurable() {}, onSealed() {} });
    const c0 = process.cpuUsage();
    let next = 0;
    const caller = async () => {
      while (next++ < RECORDS) await app.append(Buffer.from(RECORD), 50, 0);
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
    const d = process.cpuUsage(c0);
    await app.close();
    return d.user + d.system;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpu = roots.map(() => 0);
for (let round = 0; round < ROUNDS; round++) {
  const order = roots.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  for (const i of order) {
    const us = await run(i);
    if (round > 0) cpu[i]! += us; // the first round warms up
  }
}
const perRecord = cpu.map((us) => +(us / (RECORDS * (ROUNDS - 1))).toFixed(1));
for (const [i, r] of roots.entries()) console.log(`${r}: ${perRecord[i]} µs CPU per 40 KB record`);
console.log(
  `saved ${saveResults('wal-appender', { date: new Date().toISOString(), roots, records: RECORDS, rounds: ROUNDS, cpuUsPerRecord: perRecord, loadAverage: os.loadavg() })}`,
);
