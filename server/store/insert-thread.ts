/**
 * The insert thread (embedded shape): a worker thread (node:worker_threads) that opens its own
 * session on the event store (chDB — or a ClickHouse server, same code) and writes the WAL's
 * chunks there, so that encoding rows for ClickHouse and chDB's blocking calls never hold up
 * the event loop that answers SDKs. A 10,000-row insert used to stall that loop for
 * 180–320 ms.
 *
 * What crosses the thread boundary is the chunk's bytes exactly as they lie in the write-ahead
 * log (already the rows' JSON, transferred without a copy when possible): the main thread does
 * not serialise a row for the insert. The thread decodes them and runs the same writer as
 * anywhere else (writer.ts): deduplication tokens, partition groups, split-and-quarantine of
 * refused inserts, profile ops. Everything that makes it exactly-once stays on the main thread
 * with the WAL applier: the intent/commit checkpoint and the record of splits — the thread asks
 * the main thread to save a split (and waits) before trying its halves. Writer metrics are
 * forwarded to the main thread's registry.
 *
 * Crash story: the thread lives and dies with the process. A SIGKILL while it inserts leaves
 * the chunk's intent in the checkpoint; the next start re-sends that exact range under the
 * same token (wal/recover.ts), and ClickHouse drops what had landed.
 *
 * chDB allows several sessions on one folder in one process: the main thread keeps its own
 * for queries, migrations and the quarantine commands. But a thread that has used chDB must
 * not exit while the process goes on (chdb 3.4 on Node 20: every later query of the process
 * hangs; a thread that alone loaded the library crashes the process as it exits). So the
 * thread is started once per process and kept: `close` closes its session and leaves it idle
 * (unreferenced: it does not keep the process alive), and the next `startInsertThread` — a
 * test opening another server in the same process — reuses it. It catches its own errors
 * instead of dying; should it die anyway, writes in flight reject and are retried by the
 * applier on a new thread.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { RecordWriter } from '../engines/wal/record-writer.ts';
import type { Logger } from '../log.ts';
import type { ClickhouseConfig } from './clickhouse.ts';
import type { WriteOptions, WriterMetrics } from './writer.ts';

/** What the thread is started with (its workerData). */
export interface InsertThreadInit {
  clickhouse: ClickhouseConfig;
  maxProfileProperties?: number;
  /** `input_format_parallel_parsing` of the thread's inserts (writer.ts `WriterOptions`). */
  parallelParsing?: boolean;
  /**
   * Nice value of the thread and of chDB's threads (thread-nice.ts), so they never take a core
   * from the ingest event loop; 0 leaves them at the process's priority. Taken at the first open.
   */
  nice?: number;
}

/** Messages to the thread. */
export type ToInsertThread =
  /** Open a store session (after the previous one, if any, was closed). */
  | { type: 'open'; init: InsertThreadInit }
  /** Write a chunk; `splits`: the tokens already split (null: the batch has no durable memo). */
  | { type: 'write'; id: number; token: string; records: Uint8Array; splits: string[] | null }
  /** The split the thread asked for is recorded (or failed to be: `error`). */
  | { type: 'split-saved'; id: number; token: string; error?: string }
  /** Close the store session; the thread stays, idle. */
  | { type: 'close' };

/** The shape an error crosses the boundary in (ClickHouse's code kept for logs). */
export interface ThreadError {
  message: string;
  code?: string;
  type?: string;
}

/** A metric the writer recorded, by member of WriterMetrics. */
export type ThreadMetric =
  | { name: 'flushRows'; table: string; value: number }
  | { name: 'flushSeconds'; value: number }
  | { name: 'quarantinedRows'; table: string }
  | { name: 'insertSplits'; table: string };

/** Messages from the thread. */
export type FromInsertThread =
  | { type: 'opened' }
  | { type: 'open-failed'; error: ThreadError }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; error: ThreadError }
  /** Record this split durably, then answer `split-saved`. */
  | { type: 'split'; id: number; token: string }
  | { type: 'metric'; metric: ThreadMetric }
  /** An error the thread caught outside any write (logged here). */
  | { type: 'error'; error: ThreadError }
  | { type: 'closed' };

/** The insert thread as the WAL queue sees it. */
export interface InsertThread extends RecordWriter {
  /** Closes the thread's store session (the queue's close waits for writes in flight first). */
  close(): Promise<void>;
}

export interface InsertThreadOptions extends InsertThreadInit {
  /** The main thread's metrics; the thread's writer records into them. */
  metrics?: WriterMetrics;
  log?: Logger;
}

interface InFlight {
  resolve(): void;
  reject(err: unknown): void;
  opts: WriteOptions | undefined;
}

const BOOT = new URL('./insert-thread.boot.mjs', import.meta.url);
const ENTRY = new URL('./insert-thread.worker.ts', import.meta.url).href;

/** An error from the thread, as an Error of this thread. */
function toError(e: ThreadError): Error {
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {}, e.type ? { type: e.type } : {});
}

/** The process's insert thread, once started, and who listens to it now. */
interface Thread {
  worker: Worker;
  /** The open InsertThread's handler; null while none is open. */
  listener: ((m: FromInsertThread) => void) | null;
  /** The open InsertThread's reaction to the thread dying. */
  onDeath: ((err: Error) => void) | null;
  /** Closes the open InsertThread's session. */
  detach: (() => Promise<void>) | null;
}
let current: Thread | null = null;
/** Write ids, unique in the process: a late answer for a detached session's write matches nothing. */
let nextId = 0;

function spawnThread(): Thread {
  // The thread inherits this process's Node options (tsx, --cpu-prof for bench:ingest --profile).
  const worker = new Worker(BOOT, { workerData: { entry: ENTRY } });
  const t: Thread = { worker, listener: null, onDeath: null, detach: null };
  worker.unref();
  worker.on('message', (m: FromInsertThread) => t.listener?.(m));
  const die = (err: Error) => {
    if (current === t) current = null;
    t.onDeath?.(err);
  };
  worker.on('error', (err) => die(err));
  worker.on('exit', (code) => die(new Error(`insert thread exited (code ${code})`)));
  return t;
}

/** chDB's library stays loaded in the main thread too (see the module comment). */
const requireHere = createRequire(import.meta.url);

/**
 * Opens a store session on the process's insert thread (starting it the first time) and
 * resolves once it is open. One at a time per process: a session still open (a server that
 * was never stopped) is closed first, and its writes fail from then on.
 */
export async function startInsertThread(opts: InsertThreadOptions): Promise<InsertThread> {
  if (current?.detach) {
    opts.log?.warn('insert thread: a previous session was still open; closing it');
    await current.detach();
  }
  if (opts.clickhouse.kind === 'chdb') requireHere('chdb');
  const init: InsertThreadInit = {
    clickhouse: opts.clickhouse,
    maxProfileProperties: opts.maxProfileProperties,
    parallelParsing: opts.parallelParsing,
    nice: opts.nice,
  };
  const inFlight = new Map<number, InFlight>();
  let closing = false;
  let waitOpen: { resolve(): void; reject(err: Error): void } | null = null;
  let waitClose: (() => void) | null = null;

  function onMetric(m: ThreadMetric): void {
    const metrics = opts.metrics;
    if (!metrics) return;
    if (m.name === 'flushRows') metrics.flushRows.observe({ table: m.table }, m.value);
    else if (m.name === 'quarantinedRows') metrics.quarantinedRows.inc({ table: m.table });
    else if (m.name === 'insertSplits') metrics.insertSplits.inc({ table: m.table });
    else metrics.flushSeconds.observe(m.value);
  }

  function listener(t: Thread) {
    return (m: FromInsertThread) => {
      switch (m.type) {
        case 'opened':
          waitOpen?.resolve();
          break;
        case 'open-failed':
          waitOpen?.reject(toError(m.error));
          break;
        case 'done':
        case 'failed': {
          const f = inFlight.get(m.id);
          inFlight.delete(m.id);
          if (inFlight.size === 0) t.worker.unref();
          if (m.type === 'done') f?.resolve();
          else f?.reject(toError(m.error));
          break;
        }
        case 'split': {
          const splits = inFlight.get(m.id)?.opts?.splits;
          const answer = (error?: string) => t.worker.postMessage({ type: 'split-saved', id: m.id, token: m.token, error } satisfies ToInsertThread);
          if (!splits) answer();
          else
            splits.add(m.token).then(
              () => answer(),
              (err: unknown) => answer(err instanceof Error ? err.message : String(err)),
            );
          break;
        }
        case 'metric':
          onMetric(m.metric);
          break;
        case 'error':
          opts.log?.error({ err: toError(m.error) }, 'insert thread: error outside a write');
          break;
        case 'closed':
          waitClose?.();
          break;
      }
    };
  }

  /** The thread with this InsertThread's session open on it, (re)started if needed. */
  let ready: Promise<Thread> | null = null;
  function attach(): Promise<Thread> {
    ready ??= (async () => {
      const t = current ?? spawnThread();
      current = t;
      t.listener = listener(t);
      t.onDeath = (err) => {
        ready = null;
        if (!closing) opts.log?.error({ err }, 'insert thread died; writes in flight are retried on a new one');
        waitOpen?.reject(err);
        waitClose?.();
        for (const f of inFlight.values()) f.reject(err);
        inFlight.clear();
      };
      t.worker.ref();
      try {
        await new Promise<void>((resolve, reject) => {
          waitOpen = { resolve, reject };
          t.worker.postMessage({ type: 'open', init } satisfies ToInsertThread);
        });
      } catch (err) {
        t.listener = null;
        t.onDeath = null;
        ready = null;
        throw err;
      } finally {
        waitOpen = null;
        t.worker.unref();
      }
      return t;
    })();
    return ready;
  }

  const self: InsertThread = {
    async write(records, token, wopts) {
      if (closing) throw new Error('insert thread: closed');
      const t = await attach();
      const id = ++nextId;
      // Transferred (no copy) when the bytes are a whole ArrayBuffer of their own; a slice of
      // Node's shared pool is copied instead, which structured cloning does.
      const own = records.byteOffset === 0 && records.byteLength === records.buffer.byteLength && records.byteLength > 4096;
      const msg: ToInsertThread = { type: 'write', id, token, records, splits: wopts?.splits ? wopts.splits.tokens() : null };
      return new Promise<void>((resolve, reject) => {
        inFlight.set(id, { resolve, reject, opts: wopts });
        t.worker.ref();
        t.worker.postMessage(msg, own ? [records.buffer as ArrayBuffer] : []);
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      const t = ready && (await ready.catch(() => null));
      if (!t) return;
      t.worker.ref();
      await new Promise<void>((resolve) => {
        waitClose = resolve;
        t.worker.postMessage({ type: 'close' } satisfies ToInsertThread);
      });
      t.worker.unref();
      t.listener = null;
      t.onDeath = null;
      t.detach = null;
      for (const f of inFlight.values()) f.reject(new Error('insert thread: closed'));
      inFlight.clear();
    },
  };
  (await attach()).detach = () => self.close();
  return self;
}
