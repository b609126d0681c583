// The store's threads below the ingest loop: a thread named as chDB names its threads is
// reniced, including one that took its name after the first scan (chDB's pools grow and name
// their threads as they go); Node's own threads (the main thread, libuv's pool, V8's helpers:
// the process's name) keep their priority.
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { niceStoreThreads } from './thread-nice.ts';

/** A thread that reports its id, renames itself when told (as chDB's threads do), and idles. */
function thread(): Promise<{ tid: number; rename(name: string): Promise<void>; worker: Worker }> {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const fs = require('node:fs');
     parentPort.on('message', (name) => { fs.writeFileSync('/proc/thread-self/comm', name); parentPort.postMessage('renamed'); });
     parentPort.postMessage(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()));`,
    { eval: true },
  );
  return new Promise((resolve) => {
    worker.once('message', (tid: number) =>
      resolve({
        tid,
        worker,
        rename: (name) =>
          new Promise((done) => {
            worker.once('message', () => done());
            worker.postMessage(name);
          }),
      }),
    );
  });
}

const workers: Worker[] = [];
const self = () => Number(readlinkSync('/proc/thread-self').split('/').pop());
/** The priority the tests run at (the suite itself may run niced). */
const base = process.platform === 'linux' ? os.getPriority(self()) : 0;
afterEach(async () => {
  for (const w of workers.splice(0)) await w.terminate();
  try {
    os.setPriority(self(), base); // back to the test process's priority (allowed as root)
  } catch {}
});

describe.skipIf(process.platform !== 'linux')('niceStoreThreads', () => {
  it("renices the calling thread and the store's named threads, now and as they appear; leaves Node's threads alone", async () => {
    const named = await thread();
    const unnamed = await thread();
    const later = await thread();
    workers.push(named.worker, unnamed.worker, later.worker);
    await named.rename('MergeMutate');

    const nice = Math.min(19, base + 5);
    const mainBefore = os.getPriority(process.pid);
    const nicer = niceStoreThreads(nice)!;
    expect(os.getPriority(self())).toBe(nice);
    expect(nicer.scan()).toBeGreaterThanOrEqual(1);
    expect(os.getPriority(named.tid)).toBe(nice);
    expect(os.getPriority(unnamed.tid)).toBe(base); // Node's name: one of Node's threads
    expect(os.getPriority(later.tid)).toBe(base);
    if (self() !== process.pid) expect(os.getPriority(process.pid)).toBe(mainBefore); // the main thread

    await later.rename('QueryPipelineEx'); // named after the first scan
    nicer.scan();
    expect(os.getPriority(later.tid)).toBe(nice);
    expect(os.getPriority(unnamed.tid)).toBe(base);
    expect(nicer.scan()).toBe(0); // each thread once
  });

  it('does nothing at 0, and never makes a thread less nice than it is', async () => {
    expect(niceStoreThreads(0)).toBeNull();
    expect(os.getPriority(self())).toBe(base);
    const named = await thread();
    workers.push(named.worker);
    await named.rename('MergeMutate');
    os.setPriority(named.tid, Math.min(19, base + 8)); // already nicer than asked
    niceStoreThreads(Math.min(19, base + 3))!.scan();
    expect(os.getPriority(named.tid)).toBe(Math.min(19, base + 8));
  });
});
