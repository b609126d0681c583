/**
 * Entry point: `npm start`. Reads the configuration, starts this process's roles and prints
 * where to find them; SIGINT/SIGTERM drain gracefully (everything accepted is written first).
 */

import { startLivepanel } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { RoleError } from './roles.ts';

async function main() {
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
  const log = createLogger(config.logLevel);
  let running: Awaited<ReturnType<typeof startLivepanel>>;
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
      log.warn('second signal: exiting without draining');
      process.exit(1);
    }
    log.info({ signal }, 'draining');
    running.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'drain failed');
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
