// Group commit through SIGKILLs: a child process (tests/support/wal-append-child.ts) pushes
// uniquely numbered events from 50 concurrent callers and prints each ack; the test kills it
// at random moments — during group commits, zero fills of the room ahead of the writes, and
// segment rotations — restarts it on the same folder, and finally applies the whole log once:
// every acknowledged event must be there exactly once, and nothing that was never pushed.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureUuid } from '../../store/clickhouse.fixtures.ts';
import { createWalQueue } from '../queue.wal.ts';
import { FakeClickhouse, tempDir } from './wal.fixtures.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = path.join(ROOT, 'tests/support/wal-append-child.ts');
const dir = tempDir('lp-wal-kill-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child from event number `base` until `acks` pushes are acknowledged plus a random moment, then SIGKILLs it. */
async function runAndKill(base: number, acks: number): Promise<{ acked: number[]; next: number }> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: { ...process.env, LP_TEST_WAL_DIR: dir, LP_TEST_BASE: String(base), LP_TEST_CONCURRENCY: '50' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const acked: number[] = [];
  let killAt = Number.POSITIVE_INFINITY;
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve())); // after stdout is drained
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (l === 'ready') killAt = acks;
    if (!l.startsWith('ack ')) return;
    acked.push(Number(l.slice(4)));
    if (acked.length === killAt) setTimeout(() => proc.kill('SIGKILL'), Math.random() * 20);
  });
  const deadline = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(deadline);
  if (acked.length < acks) throw new Error(`child died after ${acked.length} acks: ${stderr.slice(-2000)}`);
  // Every number it could have pushed lies below the highest ack plus the callers in flight.
  return { acked, next: Math.max(...acked) + 1000 };
}

describe('WAL group commit through SIGKILLs', () => {
  it('finds every acknowledged event exactly once after restarts, and nothing never pushed', { timeout: 180_000 }, async () => {
    const acked: number[] = [];
    const ranges: Array<[number, number]> = [];
    let base = 0;
    for (let round = 0; round < 6; round++) {
      const r = await runAndKill(base, 300 + Math.floor(Math.random() * 900));
      acked.push(...r.acked);
      ranges.push([base, r.next]);
      base = r.next;
    }
    const ch = new FakeClickhouse();
    const q = await createWalQueue({ dir, writer: ch, flushSize: 5000, flushIntervalMs: 10 });
    await q.applied();
    await q.close();
    for (const n of acked) expect(ch.rows.get(fixtureUuid(n + 1)), `event ${n}`).toBe(1);
    expect([...ch.rows.values()].every((times) => times === 1)).toBe(true);
    const pushable = new Set(ranges.flatMap(([from, to]) => Array.from({ length: to - from }, (_, i) => fixtureUuid(from + i + 1))));
    expect([...ch.rows.keys()].filter((id) => !pushable.has(id))).toEqual([]);
    expect(ch.rows.size).toBeGreaterThanOrEqual(acked.length);
  });
});
