/**
 * The embedded shape's event queue: rows wait in memory and are written to ClickHouse by one
 * flush at a time. A flush starts when `flushSize` rows are waiting or `flushIntervalMs` after
 * the oldest waiting row arrived. `push` resolves only when the flush holding its rows has
 * succeeded — that is when SDKs get their ack — so a crash loses nothing acknowledged.
 * A failed flush is retried with backoff under the same deduplication token, so a write that
 * reached ClickHouse before the error is not counted twice.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { type WriteBatch, batchSize, emptyBatch, mergeInto } from '../../shared/rows.ts';
import type { EventQueue } from './queue.ts';

export interface BatchWriter {
  /** Writes every row of the batch; the same token on a retry must not write twice. */
  write(batch: WriteBatch, token: string): Promise<void>;
}

interface Pending {
  batch: WriteBatch;
  rows: number;
  since: number;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

export interface MemoryQueueOptions {
  writer: BatchWriter;
  flushSize: number;
  flushIntervalMs: number;
  /** Rows waiting beyond which `push` refuses with 503 `overloaded` (back-pressure). */
  maxPendingRows?: number;
  metrics?: Metrics;
  log?: Logger;
}

export function createMemoryQueue(opts: MemoryQueueOptions): EventQueue {
  const maxPending = opts.maxPendingRows ?? Math.max(opts.flushSize * 50, 100_000);
  const bootId = randomUUID().slice(0, 8);
  let seq = 0;
  let pending: Pending | null = null;
  let waitingRows = 0;
  let flushing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const setDepth = () => opts.metrics?.queueDepth.set(waitingRows);

  function schedule() {
    if (!pending || flushing) return;
    if (pending.rows >= opts.flushSize || closed) {
      startFlush();
      return;
    }
    if (!timer) {
      const wait = Math.max(0, pending.since + opts.flushIntervalMs - Date.now());
      timer = setTimeout(() => {
        timer = null;
        startFlush();
      }, wait);
    }
  }

  function startFlush() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (flushing || !pending) return;
    const job = pending;
    pending = null;
    flushing = writeWithRetry(job).finally(() => {
      flushing = null;
      waitingRows -= job.rows;
      setDepth();
      schedule();
    });
  }

  async function writeWithRetry(job: Pending): Promise<void> {
    const token = `${bootId}-${++seq}`;
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        await opts.writer.write(job.batch, token);
        opts.metrics?.flushSeconds.observe((performance.now() - started) / 1000);
        for (const w of job.waiters) w.resolve();
        return;
      } catch (err) {
        opts.metrics?.flushFailures.inc();
        opts.log?.error({ err, attempt, rows: job.rows }, 'flush failed; retrying');
        // Give up only when closing and retries keep failing: the waiters' clients were never acked.
        if (closed && attempt >= 5) {
          for (const w of job.waiters) w.reject(err);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5000)));
      }
    }
  }

  return {
    push(batch) {
      const rows = batchSize(batch);
      if (closed) return Promise.reject(new AppError(503, 'shutting_down', 'Server is shutting down'));
      if (rows === 0) return Promise.resolve();
      if (waitingRows + rows > maxPending) {
        return Promise.reject(new AppError(503, 'overloaded', 'Too many events waiting to be written; retry later'));
      }
      return new Promise<void>((resolve, reject) => {
        if (!pending) pending = { batch: emptyBatch(), rows: 0, since: Date.now(), waiters: [] };
        mergeInto(pending.batch, batch);
        pending.rows += rows;
        pending.waiters.push({ resolve, reject });
        waitingRows += rows;
        setDepth();
        schedule();
      });
    },
    async depth() {
      return waitingRows;
    },
    async close() {
      closed = true;
      while (flushing || pending) {
        if (!flushing) startFlush();
        await flushing;
      }
    },
  };
}
