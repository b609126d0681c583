/**
 * Stops accepting connections while the process is about to run out of file descriptors.
 *
 * Why: when `accept()` fails with EMFILE, uWebSockets.js (uSockets) leaves the pending
 * connection in the listen queue and returns to its level-triggered event loop, which wakes
 * at once for the same connection: a busy loop that burns a core until clients go away
 * (measured: a bare uWS app with `ulimit -n 64` and 300 pending connections spent ~1 CPU
 * second per second doing nothing). The socket caps keep SDK sockets below the limit, but
 * plain TCP connections that never send a request still take descriptors before anything
 * can refuse them.
 *
 * So this samples how many descriptors the process holds (`/proc/self/fd`, Linux) and, past
 * `pauseAt`, closes the listen socket (pending connections are refused by the kernel; nothing
 * spins); below `resumeAt` it listens again. Open connections keep working meanwhile. While
 * paused `/healthz` does not answer on this node either — a load balancer then sends traffic
 * elsewhere, which is what a node out of descriptors needs.
 *
 * Pausing alone does not give storage room: by the time a sample sees the flood, the
 * connections uWS already accepted hold every descriptor up to the limit, and chDB cannot
 * open the epoll, timer and part files an insert needs (EMFILE) for as long as they stay
 * open. So the guard holds `reserve` descriptors (on /dev/null) while accepting and releases
 * them when it pauses: with the listener closed, nothing but the process's own work (storage,
 * logs, outgoing connections) can take them. It takes them back before listening again, and
 * stays paused if it cannot.
 */
import { closeSync, openSync, readdirSync } from 'node:fs';

export interface FdGuardOptions {
  /** The soft RLIMIT_NOFILE. */
  limit: number;
  /** Stop accepting at this many open descriptors (default: limit − 64). */
  pauseAt?: number;
  /** Accept again below this many (default: limit − 10% of it, at least 128 below pauseAt). */
  resumeAt?: number;
  pause(): void;
  resume(): void;
  /** Sampling period while far from the limit (default 1 s); 4× as often when close. */
  intervalMs?: number;
  /** Counts open descriptors (default: entries of /proc/self/fd). */
  count?: () => number;
  /** Descriptors held while accepting and released while paused (default 0). */
  reserve?: number;
  /** Opens one reserve descriptor (default: /dev/null); throws when out of them. */
  openReserve?: () => number;
  closeReserve?: (fd: number) => void;
}

export interface FdGuard {
  readonly paused: boolean;
  /** Reserve descriptors held right now (all of them while accepting, none while paused). */
  readonly reserved: number;
  /** Samples once now (the timer does it every interval). */
  check(): void;
  stop(): void;
}

export const countOpenFds = () => readdirSync('/proc/self/fd').length;

export function createFdGuard(opts: FdGuardOptions): FdGuard {
  const pauseAt = opts.pauseAt ?? Math.max(1, opts.limit - 64);
  const resumeAt = opts.resumeAt ?? Math.max(0, Math.min(pauseAt - 128, Math.floor(opts.limit * 0.9)));
  const count = opts.count ?? countOpenFds;
  const interval = opts.intervalMs ?? 1000;
  const reserve = opts.reserve ?? 0;
  const openReserve = opts.openReserve ?? (() => openSync('/dev/null', 'r'));
  const closeReserve = opts.closeReserve ?? closeSync;
  const held: number[] = [];
  let paused = false;
  let timer: NodeJS.Timeout | undefined;

  function release(): void {
    for (const fd of held.splice(0)) closeReserve(fd);
  }

  /** Takes the whole reserve, or nothing (and false) when descriptors ran out meanwhile. */
  function acquire(): boolean {
    try {
      while (held.length < reserve) held.push(openReserve());
      return true;
    } catch {
      release();
      return false;
    }
  }

  function check(): number {
    let n: number;
    try {
      n = count();
    } catch (err) {
      // Reading /proc/self/fd needs a descriptor too: failing for lack of one means we are out.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EMFILE' && code !== 'ENFILE') throw err;
      n = opts.limit;
    }
    if (!paused && n >= pauseAt) {
      paused = true;
      opts.pause();
      release();
    } else if (paused && n + reserve < resumeAt && acquire()) {
      // Compared with the reserve counted in, as it is while accepting.
      paused = false;
      opts.resume();
    }
    return n;
  }

  acquire();

  function schedule(n: number) {
    // Sample faster when close to the limit (or paused): the sooner a pause, the less spinning.
    const near = paused || n >= resumeAt;
    timer = setTimeout(() => schedule(check()), near ? Math.max(50, interval / 4) : interval);
    timer.unref();
  }
  schedule(0);

  return {
    get paused() {
      return paused;
    },
    get reserved() {
      return held.length;
    },
    check() {
      check();
    },
    stop() {
      if (timer) clearTimeout(timer);
      release();
    },
  };
}
