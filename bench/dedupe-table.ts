/**
 * `tsx bench/dedupe-table.ts` — CPU per client event id of the embedded dedupe
 * (server/engines/dedupe.memory.ts) as `/ws` uses it: batches of 50 new ids claimed, then
 * confirmed, one project, far past its bound (200,000 ids) so eviction runs all along.
 *
 *   --ids N      distinct ids (default 1,000,000), reported per window of 200,000
 *   --root DIR   another checkout's dedupe (a before/after in alternation)
 *
 * Also times the device-id cache (server/ingest/device-id.ts) with a new visitor per event (a
 * miss and an insert each) and with 10,000 returning visitors in turn (hits). Saves bench/results/dedupe-table-<time>.json.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({ options: { ids: { type: 'string', default: '1000000' }, root: { type: 'string' } } });
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const { createMemoryDedupe } = await import(path.join(ROOT, 'server/engines/dedupe.memory.ts'));
const { cookielessDeviceId } = await import(path.join(ROOT, 'server/ingest/device-id.ts'));

const total = Number(args.ids);
const WINDOW = 200_000;
const BATCH = 50;
const dedupe = createMemoryDedupe();
const dedupeWindows: number[] = [];
for (let from = 0; from < total; from += WINDOW) {
  const cpu0 = process.cpuUsage();
  for (let i = from; i < from + WINDOW; i += BATCH) {
    const keys = Array.from({ length: BATCH }, (_, k) => `project-1:${i + k}-client-event-id`);
    await dedupe.claim(keys, 10_000);
    await dedupe.confirm(keys, 3_600_000);
  }
  const c = process.cpuUsage(cpu0);
  dedupeWindows.push(Math.round(((c.user + c.system) / WINDOW) * 100) / 100);
  console.log(`dedupe ids ${from}-${from + WINDOW}: ${dedupeWindows.at(-1)} µs CPU per id`);
}

const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const deviceWindows: number[] = [];
for (let from = 0; from < total; from += WINDOW) {
  const cpu0 = process.cpuUsage();
  for (let n = from; n < from + WINDOW; n++) cookielessDeviceId('salt', 'project-1', UA, `81.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
  const c = process.cpuUsage(cpu0);
  deviceWindows.push(Math.round(((c.user + c.system) / WINDOW) * 100) / 100);
  console.log(`device ids ${from}-${from + WINDOW}: ${deviceWindows.at(-1)} µs CPU per visitor`);
}
// Returning visitors: 10,000 of them in turn, every lookup a hit (not the last one's).
const hitWindows: number[] = [];
for (let from = 0; from < total; from += WINDOW) {
  const cpu0 = process.cpuUsage();
  for (let n = from; n < from + WINDOW; n++) {
    const v = n % 10_000;
    cookielessDeviceId('salt', 'project-1', UA, `82.1.${(v >> 8) & 255}.${v & 255}`);
  }
  const c = process.cpuUsage(cpu0);
  hitWindows.push(Math.round(((c.user + c.system) / WINDOW) * 100) / 100);
}
const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100;
console.log(
  `mean: dedupe ${mean(dedupeWindows)} µs per id, device id ${mean(deviceWindows)} µs per new visitor, ${mean(hitWindows)} µs per returning one (${ROOT}), load ${os.loadavg()[0]!.toFixed(1)}`,
);
saveResults('dedupe-table', { date: new Date().toISOString(), root: ROOT, ids: total, dedupeWindows, deviceWindows, hitWindows, loadAverage: os.loadavg() });
process.exit(0);
