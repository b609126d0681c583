// The WAL queue with the real chDB writer, through SIGKILLs: a child process
// (tests/support/wal-child.ts) pushes uniquely numbered events and prints each ack; the test
// kills it at random moments (during start-up, recovery, appends and chunk writes), restarts
// it on the same WAL and chDB folders, and finally counts rows by id in chDB. Guards against
// the two ways a queue in front of ClickHouse goes wrong: an acked event missing, or an event
// stored twice (a chunk re-sent under a new token after a crash).
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureUuid } from '../store/clickhouse.fixtures.ts';
import { tempDir } from './wal/wal.fixtures.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = path.join(ROOT, 'tests/support/wal-child.ts');
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});
/** A fresh WAL folder and chDB folder for one test. */
function freshFolders(): Record<string, string> {
  const wal = tempDir('lp-wal-int-wal-');
  const ch = tempDir('lp-wal-int-ch-');
  folders.push(wal, ch);
  return { LP_TEST_WAL_DIR: wal, LP_TEST_CHDB_DIR: ch };
}

interface Child {
  proc: ChildProcess;
  acked: number[];
  wrote: string[];
  lines: string[];
  /** Resolves with the first line starting with `prefix`. */
  line(prefix: string): Promise<string>;
  exited: Promise<void>;
}

function startChild(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c: Child = { proc, acked: [], wrote: [], lines: [], line: () => Promise.reject(), exited: Promise.resolve() };
  const watchers: Array<{ prefix: string; resolve(l: string): void }> = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (l.startsWith('ack ')) c.acked.push(Number(l.slice(4)));
    else c.lines.push(l);
    if (l.startsWith('wrote ')) c.wrote.push(l.slice(6));
    for (const w of watchers.filter((x) => l.startsWith(x.prefix))) w.resolve(l);
  });
  let how = '';
  c.exited = new Promise((resolve) =>
    proc.on('close', (code, signal) => {
      how = signal ? `signal ${signal}` : `code ${code}`;
      resolve(); // after stdout is drained
    }),
  );
  c.line = (prefix) =>
    new Promise((resolve, reject) => {
      watchers.push({ prefix, resolve });
      c.exited.then(() => setTimeout(() => reject(new Error(`child exited (${how}) before "${prefix}": ${stderr.slice(-2000)}`)), 50));
    });
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

async function kill(c: Child): Promise<void> {
  c.proc.kill('SIGKILL');
  await c.exited;
}

describe('WAL queue on chDB through SIGKILLs', () => {
  it('stores every acked event exactly once', { timeout: 240_000 }, async () => {
    const acked: number[] = [];
    const log: string[] = [];
    const dirs = freshFolders();
    const push = (round: number, extra: Record<string, string> = {}) =>
      startChild({
        ...dirs,
        LP_TEST_MODE: 'push',
        LP_TEST_BASE: String(round * 10_000_000),
        LP_TEST_CONCURRENCY: '64',
        LP_TEST_SEGMENT_BYTES: String(2 << 20),
        ...extra,
      });

    // Round 0 is killed at random from its spawn, possibly before the queue is even open;
    // round 1 at random once it runs.
    for (let round = 0; round < 2; round++) {
      const c = push(round);
      if (round === 1) await c.line('ready');
      await sleep(rand(300, 2500));
      await kill(c);
      acked.push(...c.acked);
      log.push(`round ${round}: random kill, ${c.acked.length} acked`);
    }
    // Round 2: dies right after its second chunk reached chDB, before recording the commit.
    const landedChild = push(2, { LP_TEST_KILL_AFTER_WRITE: '2' });
    const landed = (await landedChild.line('landed ')).slice(7);
    await landedChild.exited;
    acked.push(...landedChild.acked);
    log.push(`round 2: killed after the write of ${landed}, ${landedChild.acked.length} acked`);
    // Round 3: its first write must re-send exactly that chunk, under that token — even with a
    // flush size (a config change) that would cut the log elsewhere.
    const next = push(3, { LP_TEST_FLUSH_SIZE: '5000' });
    await next.line('wrote ');
    expect(next.wrote[0]).toBe(landed);
    await sleep(rand(200, 1500));
    await kill(next);
    acked.push(...next.acked);
    log.push(`round 3: re-sent ${next.wrote[0]} first, ${next.acked.length} acked`);
    // Rounds 4-7: killed at random after start-up, while pushing and applying.
    for (let round = 4; round < 8; round++) {
      const c = push(round);
      await c.line('ready');
      await sleep(rand(50, 1500));
      await kill(c);
      acked.push(...c.acked);
      log.push(`round ${round}: random kill, ${c.acked.length} acked, ${c.wrote.length} chunks written`);
    }

    await expectExactlyOnce(dirs, acked, log);
  });

  // The server's shape: chunks go to the insert thread (server/store/insert-thread.ts), which
  // owns its own chDB session. SIGKILL of the process while that thread is inside an insert
  // must lose no acked row and count none twice; the next start re-sends that very chunk first.
  it('stores every acked event exactly once when the insert thread is killed mid-insert', { timeout: 240_000 }, async () => {
    const acked: number[] = [];
    const log: string[] = [];
    const dirs = freshFolders();
    const push = (round: number, extra: Record<string, string> = {}) =>
      startChild({
        ...dirs,
        LP_TEST_THREAD: '1',
        LP_TEST_MODE: 'push',
        LP_TEST_BASE: String(round * 10_000_000),
        LP_TEST_CONCURRENCY: '64',
        LP_TEST_FLUSH_SIZE: '2000',
        LP_TEST_SEGMENT_BYTES: String(2 << 20),
        ...extra,
      });
    let lastKilled = '';
    for (let round = 0; round < 4; round++) {
      // Rounds 0 and 2 die a few ms into their second insert, rounds 1 and 3 into their first
      // (which, after a kill, is the interrupted chunk re-sent).
      const c = push(round, { LP_TEST_KILL_DURING_WRITE: round % 2 === 0 ? '2' : '1' });
      const killed = (await c.line('killing ')).slice(8);
      await c.exited;
      acked.push(...c.acked);
      log.push(`round ${round}: killed inserting ${killed} (${c.wrote.includes(killed) ? 'it had landed' : 'mid-insert'}), ${c.acked.length} acked`);
      if (round > 0) expect(c.lines.find((l) => l.startsWith('writing '))?.slice(8)).toBe(lastKilled);
      lastKilled = killed;
    }
    // Random kills while pushing and applying through the thread.
    for (let round = 4; round < 7; round++) {
      const c = push(round);
      await c.line('ready');
      await sleep(rand(50, 1500));
      await kill(c);
      acked.push(...c.acked);
      log.push(`round ${round}: random kill, ${c.acked.length} acked, ${c.wrote.length} chunks written`);
    }
    await expectExactlyOnce({ ...dirs, LP_TEST_THREAD: '1' }, acked, log);
  });
});

/** Applies what is left in the log, then checks chDB holds every acked event exactly once. */
async function expectExactlyOnce(env: Record<string, string>, acked: number[], log: string[]): Promise<void> {
  const final = startChild({ ...env, LP_TEST_MODE: 'count' });
  const { rows, distinct, ids } = JSON.parse((await final.line('count ')).slice(6)) as { rows: number; distinct: number; ids: string[] };
  await final.exited;
  console.log(`${log.join('\n')}\nacked ${acked.length}, stored ${rows} rows (${distinct} distinct ids)`);

  expect(acked.length).toBeGreaterThan(1000);
  expect(rows).toBe(distinct); // nothing stored twice
  const stored = new Set(ids);
  const missing = acked.filter((n) => !stored.has(fixtureUuid(n + 1)));
  expect(missing).toEqual([]); // nothing acked lost
}
