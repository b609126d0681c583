/**
 * Opens the queue accepted events go to, by shape. Distributed: a BullMQ queue in Redis, and
 * on worker processes the flush worker that writes it to ClickHouse. Embedded: the write-ahead
 * log in DATA_DIR/wal, applied to chDB by the insert thread.
 */

import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Engines } from '../engines/create.ts';
import { createBullmqQueue } from '../engines/queue.bullmq.ts';
import type { EventQueue } from '../engines/queue.ts';
import { createWalQueue } from '../engines/queue.wal.ts';
import type { StorageHealth } from '../health.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { startInsertThread } from '../store/insert-thread.ts';
import type { Writer } from '../store/writer.ts';
import { createEventsFlushWorker } from '../workers/events.flush.ts';

export interface OpenedQueue {
  queue: EventQueue;
  /** Resolves once everything acknowledged so far is stored (see Running.settle). */
  settle: () => Promise<void>;
  /** How far storage lags behind, for /readyz; undefined where this process does not write. */
  storageHealth: (() => StorageHealth) | undefined;
}

export async function openEventQueue(deps: {
  config: Config;
  redis: Redis | undefined;
  /** Set where this process opens ClickHouse. */
  writer: Writer | undefined;
  engines: Engines;
  isWorker: boolean;
  metrics: Metrics;
  log: Logger;
  /** Collects what to close on shutdown. */
  cleanups: Array<() => Promise<unknown> | unknown>;
}): Promise<OpenedQueue> {
  const { config, redis, writer, engines, metrics, log, cleanups } = deps;
  let queue: EventQueue;
  let settle = async () => {};
  let storageHealth: (() => StorageHealth) | undefined;
  if (redis && config.redis) {
    queue = createBullmqQueue({ connection: redis, prefix: config.redis.prefix, metrics, log });
    if (deps.isWorker) {
      const flusher = createEventsFlushWorker({
        connection: redis,
        prefix: config.redis.prefix,
        writer: writer!,
        quarantine: writer!.quarantine,
        maxRows: config.workerFlushSize,
        maxWaitMs: config.flushIntervalMs,
        metrics,
        log,
      });
      cleanups.push(() => flusher.close());
      storageHealth = flusher.health;
    }
  } else {
    // Embedded: acked once appended to the write-ahead log in DATA_DIR/wal (this process holds
    // the data lock), applied to chDB in large inserts in the background, exactly once.
    // The inserts run on a thread of their own with its own store session (insert-thread.ts),
    // fed the log's bytes: encoding rows and chDB's calls stay off this event loop.
    const thread = await startInsertThread({
      clickhouse: config.clickhouse,
      maxProfileProperties: config.maxProfileProperties,
      parallelParsing: config.insertParallelParsing,
      nice: config.storeThreadsNice,
      metrics,
      log,
    });
    const wal = await createWalQueue({
      dir: path.join(config.dataDir, 'wal'),
      writer: { records: thread },
      flushSize: config.flushSize,
      maxChunkRows: config.flushMaxSize,
      flushIntervalMs: config.flushIntervalMs,
      dedupeTtlMs: config.dedupeTtlMs,
      metrics,
      log,
    }).catch(async (err: unknown) => {
      await thread.close();
      throw err;
    });
    // The dedupe survives a restart: ids accepted within DEDUPE_TTL_MS come back from the log,
    // so an SDK resending what it never saw acknowledged before a crash is not stored twice.
    for (const { ids, ttlMs } of wal.recoveredIds()) await engines.dedupe.confirm(ids, ttlMs);
    queue = wal;
    settle = () => wal.applied();
    storageHealth = wal.health;
  }
  cleanups.push(() => queue.close());
  return { queue, settle, storageHealth };
}
