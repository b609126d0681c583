/**
 * Entry point: `npm start`. Reads the configuration, starts this process's roles and prints
 * where to find them; SIGINT/SIGTERM drain gracefully (everything accepted is written first).
 *
 * A throw nobody caught (`uncaughtException`) or a promise rejection nobody handled
 * (`unhandledRejection`) means a bug left some state half-changed: the process logs it at
 * `fatal`, drains as it would on SIGTERM for at most FATAL_DRAIN_MS (acknowledged events are
 * in the write-ahead log or Redis already; the drain answers requests in flight and saves open
 * sessions) and exits with code 1 so its supervisor restarts it clean. It never keeps running.
 */

import { writeSync } from 'node:fs';
import { startLivepanel } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { boundHeapGrowth } from './heap-growth.ts';
import { createLogger } from './log.ts';
import { RoleError } from './roles.ts';

/** Longest a process that hit an uncaught error spends draining before it exits anyway. */
const FATAL_DRAIN_MS = 10_000;

let running: Awaited<ReturnType<typeof startLivepanel>> | undefined;
let log: ReturnType<typeof createLogger> | undefined;
let fatal = false;

function onFatal(kind: 'uncaughtException' | 'unhandledRejection', err: unknown): void {
  if (fatal) {
    // A second one while draining: stop at once.
    process.exit(1);
  }
  fatal = true;
  if (log) log.fatal({ err, kind }, 'uncaught error: draining and exiting');
  // Synchronous: console.error on a pipe is asynchronous and process.exit would drop it.
  else writeSync(2, `livepanel: ${kind}: ${err instanceof Error ? err.stack : String(err)}\n`);
  const exit = () => process.exit(1);
  setTimeout(exit, FATAL_DRAIN_MS).unref();
  if (!running) exit();
  else running.stop().then(exit, exit);
}

async function main() {
  process.on('uncaughtException', (err) => onFatal('uncaughtException', err));
  process.on('unhandledRejection', (err) => onFatal('unhandledRejection', err));
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  log = createLogger(config.logLevel);
  // How far V8 lets the heap grow past what the last full collection kept before collecting
  // again. Its own rule lets it reach up to 4× (a live heap of ~90 MB grew to ~230 MB under
  // /ws, the rest garbage of batches already answered); the embedded shape caps it at 2×, which
  // took ~90 MB off the peak at no measured CPU cost (1.5× took more off but cost ~9 % more CPU
  // per event; docs/benchmarks.md). Read at every full collection, so setting it now applies.
  // V8_HEAP_SLACK_MB bounds that room in megabytes too, for a server holding much long-lived
  // state, and V8_HEAP_TARGET_MB the live heap plus its room (server/heap-growth.ts).
  if (config.heapGrowingPercent > 0) boundHeapGrowth({ maxPercent: config.heapGrowingPercent, slackMb: config.heapSlackMb, targetMb: config.heapTargetMb });
  try {
    running = await startLivepanel(config, log);
  } catch (err) {
    if (err instanceof RoleError || (err instanceof Error && /lock|Cannot listen/i.test(err.message))) {
      console.error(`livepanel: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const has = (r: string) => config.roles.includes(r as never);
  const embedded = [config.postgres.kind === 'pglite' && 'PGlite', config.clickhouse.kind === 'chdb' && (has('worker') || has('web')) && 'chDB'].filter(
    Boolean,
  );
  const ws = running.url.replace('http', 'ws');
  console.log(
    [
      '',
      `  Livepanel is running (${config.roles.join(', ')})`,
      has('ingest') && `  ingest     POST ${running.url}/track   POST ${running.url}/batch   ${ws}/ws`,
      has('web') && `  dashboard  ${running.url}/`,
      has('web') && `  read API   ${running.url}/api/v1/projects/:projectId/events`,
      `  health     ${running.url}/healthz      metrics ${running.url}/metrics`,
      embedded.length > 0 && `  data       ${config.dataDir} (${embedded.join(' + ')})`,
      `  projects   npm run admin -- create-project --name "My site" --domain example.com`,
      '',
    ]
      .filter((l) => typeof l === 'string')
      .join('\n'),
  );

  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      log!.warn('second signal: exiting without draining');
      process.exit(1);
    }
    log!.info({ signal }, 'draining');
    running!.stop().then(
      () => process.exit(0),
      (err) => {
        log!.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
