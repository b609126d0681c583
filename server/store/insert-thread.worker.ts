/**
 * The insert thread's side (see insert-thread.ts): opens a session on the event store when
 * asked, then writes each chunk it is sent with the ordinary writer's `writeChunk`: the
 * records' compact rows (wal/batch-format.ts) go to the insert as they lie in the log's bytes,
 * nothing parsed or encoded again (records of older logs are encoded on the way). A
 * split is recorded by the main thread (which owns the WAL checkpoint) before the writer tries
 * its halves. One chunk at a time arrives (the WAL applier waits for each), but nothing here
 * depends on it.
 */
import { parentPort } from 'node:worker_threads';
import { chunkOfRecords } from '../engines/wal/record.ts';
import { type ClickHouseClient, createClickhouse } from './clickhouse.ts';
import type { SplitMemo } from './insert-split.ts';
import type { FromInsertThread, InsertThreadInit, ThreadError, ThreadMetric, ToInsertThread } from './insert-thread.ts';
import { niceStoreThreads, type ThreadNicer } from './thread-nice.ts';
import { createWriter, type Writer, type WriterMetrics } from './writer.ts';

const port = parentPort!;
const send = (m: FromInsertThread) => port.postMessage(m);
const metric = (m: ThreadMetric) => send({ type: 'metric', metric: m });

function threadError(err: unknown): ThreadError {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; type?: unknown };
  return { message: e.message, code: e.code === undefined ? undefined : String(e.code), type: typeof e.type === 'string' ? e.type : undefined };
}

const metrics: WriterMetrics = {
  flushRows: { observe: ({ table }, value) => metric({ name: 'flushRows', table, value }) },
  flushSeconds: {
    startTimer() {
      const t0 = performance.now();
      return () => metric({ name: 'flushSeconds', value: (performance.now() - t0) / 1000 });
    },
    observe: (value) => metric({ name: 'flushSeconds', value }),
  },
  quarantinedRows: { inc: ({ table }) => metric({ name: 'quarantinedRows', table }) },
  insertSplits: { inc: ({ table }) => metric({ name: 'insertSplits', table }) },
};

/** Splits asked of the main thread and not yet answered, by `${write id} ${token}`. */
const splitWaits = new Map<string, { resolve(): void; reject(err: Error): void }>();

/** The write's split memo: known tokens locally, new ones recorded by the main thread first. */
function remoteSplits(id: number, known: string[]): SplitMemo {
  const set = new Set(known);
  return {
    has: (t) => set.has(t),
    async add(t) {
      await new Promise<void>((resolve, reject) => {
        splitWaits.set(`${id} ${t}`, { resolve, reject });
        send({ type: 'split', id, token: t });
      });
      set.add(t);
    },
    tokens: () => [...set],
  };
}

/** The open session and its writer; null between a close and the next open. */
let open: { ch: ClickHouseClient; writer: Writer } | null = null;
/** Opens and closes run in turn. */
let lifecycle: Promise<unknown> = Promise.resolve();

/** Renices chDB's threads as they appear (thread-nice.ts); set up by the first open asking for it. */
let nicer: ThreadNicer | null = null;
/** How often chDB's threads are looked for: it creates them as its pools grow. */
const NICE_SCAN_MS = 1000;

async function openStore(init: InsertThreadInit): Promise<void> {
  // Before the session opens, so the threads it creates from here inherit the nice value.
  if (!nicer && init.nice) {
    nicer = niceStoreThreads(init.nice);
    if (nicer) setInterval(() => nicer!.scan(), NICE_SCAN_MS).unref();
  }
  const ch = await createClickhouse(init.clickhouse);
  open = { ch, writer: createWriter(ch, metrics, { maxProfileProperties: init.maxProfileProperties, parallelParsing: init.parallelParsing }) };
  nicer?.scan();
}

// This thread must not die while the process uses chDB (insert-thread.ts): errors outside a
// write are reported, not fatal.
process.on('uncaughtException', (err) => send({ type: 'error', error: threadError(err) }));
process.on('unhandledRejection', (err) => send({ type: 'error', error: threadError(err) }));

port.on('message', (m: ToInsertThread) => {
  switch (m.type) {
    case 'open':
      lifecycle = lifecycle.then(() =>
        openStore(m.init).then(
          () => send({ type: 'opened' }),
          (err: unknown) => send({ type: 'open-failed', error: threadError(err) }),
        ),
      );
      break;
    case 'write': {
      const records = Buffer.from(m.records.buffer, m.records.byteOffset, m.records.byteLength);
      const splits = m.splits ? remoteSplits(m.id, m.splits) : undefined;
      const store = open;
      Promise.resolve()
        .then(() => {
          if (!store) throw new Error('insert thread: no store session open');
          return store.writer.writeChunk(chunkOfRecords(records), m.token, { splits });
        })
        .then(
          () => send({ type: 'done', id: m.id }),
          (err: unknown) => send({ type: 'failed', id: m.id, error: threadError(err) }),
        );
      break;
    }
    case 'split-saved': {
      const key = `${m.id} ${m.token}`;
      const w = splitWaits.get(key);
      splitWaits.delete(key);
      if (m.error) w?.reject(new Error(`recording a split failed: ${m.error}`));
      else w?.resolve();
      break;
    }
    case 'close':
      lifecycle = lifecycle.then(async () => {
        const store = open;
        open = null;
        await store?.ch.close().catch((err: unknown) => send({ type: 'error', error: threadError(err) }));
        send({ type: 'closed' });
      });
      break;
  }
});
