/**
 * The store's threads at a lower scheduling priority than the ingest event loop (Linux `nice`,
 * a per-thread attribute there). In the embedded shape chDB runs inside the server's process:
 * its insert pipeline (parsing, squashing, writing parts) and its background merges are a
 * handful of threads that, on a small machine, take the cores from the main thread for tens
 * of milliseconds at a time — the ingest loop is runnable and waits, and every request it holds
 * waits with it (docs/benchmarks.md, "/track's p99"). The log makes that work deferrable:
 * everything acknowledged is durable before chDB sees it, so chDB may lag by a chunk while the
 * loop answers. With the store's threads niced, the kernel still gives them every cycle the
 * loop does not want; it only stops them from preempting it.
 *
 * Which threads: the calling thread (the insert thread, whose chDB calls create most of
 * chDB's threads, which inherit its nice value) and every thread of the process whose name is
 * not Node's — ClickHouse names each of its threads (`MergeMutate`, `QueryCompPipeEx`, …),
 * while Node's own (the main thread, libuv's pool, which writes and syncs the log, V8's
 * helpers) keep the process's name and are left alone. chDB creates and names threads as it
 * goes, some from the main thread's session (at nice 0), so `scan` is run periodically; a
 * thread still under Node's name (chDB's, not yet named) is looked at again on the next scan.
 * Anything but Linux: nothing to do.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

export interface ThreadNicer {
  /** Renices the process's store threads not yet seen; returns how many it changed. Never throws. */
  scan(): number;
}

const TASKS = '/proc/self/task';

function comm(tid: string): string | null {
  try {
    return readFileSync(`${TASKS}/${tid}/comm`, 'utf8').trimEnd();
  } catch {
    return null; // the thread ended
  }
}

/**
 * Lowers the calling thread to `nice` at once (a thread already nicer is left as it is) and
 * returns the scanner for the others, or null
 * where threads cannot be listed (not Linux) or `nice` is 0.
 */
export function niceStoreThreads(nice: number): ThreadNicer | null {
  if (nice <= 0 || process.platform !== 'linux') return null;
  let self: string;
  try {
    self = readlinkSync('/proc/thread-self').split('/').pop()!;
  } catch {
    return null;
  }
  const main = String(process.pid);
  const nodeName = comm(main);
  /** Threads reniced (or found gone) and still present at the last scan. */
  let done = new Set<string>();
  // Never raises a thread's priority: a server started niced as a whole keeps its store threads at least as nice.
  const renice = (tid: string) => {
    try {
      os.setPriority(Number(tid), Math.max(nice, os.getPriority(Number(tid))));
    } catch {
      // the thread ended meanwhile; or not allowed, which raising nice always is on Linux
    }
  };
  renice(self);
  done.add(self);
  return {
    scan() {
      let tids: string[];
      try {
        tids = readdirSync(TASKS);
      } catch {
        return 0;
      }
      const seen = new Set<string>();
      let changed = 0;
      for (const tid of tids) {
        if (tid === main) continue;
        if (done.has(tid)) {
          seen.add(tid);
          continue;
        }
        const name = comm(tid);
        if (name === null || name === nodeName) continue;
        renice(tid);
        seen.add(tid);
        changed += 1;
      }
      done = seen;
      return changed;
    },
  };
}
