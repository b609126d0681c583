// The write-ahead log on a real full filesystem (a small tmpfs mounted for the test; needs
// root, as CI has): a failed append used to leave complete records of refused pushes in the
// segment, which a restart then stored — stored > acknowledged, and a client's resend of a
// refused event doubled it — and each failure left an empty segment behind. Then the refusal
// was answered before the segment was cut back, so a crash right after a push was refused
// could still store it. Now the segment is cut back to its last acknowledged byte before the
// push is refused: at every instant a restart would store exactly the acknowledged events, no
// empty segment remains, and /healthz's view says appends are failing until space is back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureUuid } from '../../store/clickhouse.fixtures.ts';
import { createWalQueue } from '../queue.wal.ts';
import { SEGMENT_HEADER_BYTES } from './record.ts';
import { crashSnapshot, eventsBatch, FakeClickhouse, recoverableIds } from './wal.fixtures.ts';

let mnt = '';
function tryMount(): boolean {
  mnt = mkdtempSync(path.join(os.tmpdir(), 'lp-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
    return true;
  } catch {
    rmSync(mnt, { recursive: true, force: true });
    return false;
  }
}
const mounted = tryMount();

afterAll(() => {
  if (!mounted) return;
  execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  rmSync(mnt, { recursive: true, force: true });
});

/** A batch of one event carrying `pad` bytes of properties (so a few fill the disk). */
function fat(i: number, pad: number) {
  const b = eventsBatch(i);
  b.events[0]!.properties = { pad: 'x'.repeat(pad) };
  return b;
}

describe.skipIf(!mounted)('WAL on a full disk (tmpfs)', () => {
  const dir = () => path.join(mnt, 'wal');
  let filler = '';

  beforeAll(() => {
    filler = path.join(mnt, 'filler');
  });

  it('stores exactly the acknowledged pushes after a crash, leaves no empty segment, reports appends failing until space is back', async () => {
    const q = await createWalQueue({
      dir: dir(),
      writer: { write: () => new Promise(() => {}) },
      flushSize: 1e9,
      flushIntervalMs: 1e6,
      segmentBytes: 256 * 1024,
    });
    // Leave about 200 KB free.
    const free = () => Number(execFileSync('df', ['--output=avail', '-B1', mnt]).toString().split('\n')[1]);
    writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 200 * 1024)));

    const acked: number[] = [];
    const refused: number[] = [];
    for (let i = 0; i < 120; i++) {
      // Pushes of different sizes, some concurrent, so failures hit whole and partial writes.
      const group = [i * 3, i * 3 + 1, i * 3 + 2];
      const results = await Promise.allSettled(group.map((n) => q.push(fat(n, 3000 + (n % 7) * 1500))));
      results.forEach((r, k) => {
        (r.status === 'fulfilled' ? acked : refused).push(group[k]!);
      });
      // A crash right after the answers: the log holds no refused push (a refused push's
      // record used to stay there until after the refusal was answered).
      const stored = recoverableIds(dir());
      const ackedIds = new Set(acked.map((n) => fixtureUuid(n + 1)));
      expect(stored.filter((id) => !ackedIds.has(id))).toEqual([]);
    }
    expect(refused.length).toBeGreaterThan(50);
    expect(acked.length).toBeGreaterThan(10);
    expect(q.health().appendFailing).toMatchObject({ error: expect.stringMatching(/ENOSPC|no space/i) });
    expect(await q.depth()).toBe(acked.length); // a refused push's row no longer counts as waiting

    // No empty segment files, whatever failed.
    for (const f of readdirSync(dir()).filter((n) => n.endsWith('.seg'))) {
      expect(statSync(path.join(dir(), f)).size).toBeGreaterThan(SEGMENT_HEADER_BYTES);
    }

    // Crash now: what is on disk is applied by the next process. Exactly the acknowledged.
    const snap = crashSnapshot(dir());
    const ch = new FakeClickhouse();
    const again = await createWalQueue({ dir: snap, writer: ch, flushSize: 1000, flushIntervalMs: 50 });
    await again.applied();
    expect([...ch.rows.keys()].sort()).toEqual(acked.map((n) => fixtureUuid(n + 1)).sort());
    expect([...ch.rows.values()].every((n) => n === 1)).toBe(true);
    await again.close();
    rmSync(snap, { recursive: true, force: true });

    // Space is back: appends work again and the failure clears.
    unlinkSync(filler);
    await q.push(fat(10_000, 100));
    expect(q.health().appendFailing).toBeNull();
  });
});
