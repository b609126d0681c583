/**
 * The SIGKILL-mid-session test of sdk-faults.browser.test.ts on the distributed shape (Redis
 * for dedupe, sessions and the queue; PostgreSQL; chDB), where a restart must likewise store
 * every event the page tracked exactly once.
 */
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { SCRIPT_PATH } from '../../sdk/scripts/script-build.ts';
import { launchDesktopChromium, type StaticSite, startStaticSite } from '../support/browser.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { runNode, serverProcess } from '../support/process.ts';
import { createTestRedis, TEST_REDIS_URL } from '../support/redis.ts';
import { killMidSession } from '../support/sdk-pages.ts';

let browser: Browser;
let site: StaticSite;
beforeAll(async () => {
  browser = await launchDesktopChromium();
  site = await startStaticSite();
  site.asset('/lp.js', readFileSync(SCRIPT_PATH, 'utf8'), 'text/javascript; charset=utf-8');
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

describe('the browser SDK through a SIGKILL, distributed shape', () => {
  it('stores every event exactly once after the restart', async () => {
    const [redis, db] = await Promise.all([createTestRedis(), createTestDatabase()]);
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: redis.prefix, DATABASE_URL: db.url };
    const server = await serverProcess(env);
    try {
      await server.start();
      // With DATABASE_URL the admin CLI writes to PostgreSQL directly.
      const cli = runNode('server/admin/cli.ts', ['create-project', '--name', 'Kill', '--domain', site.origin], env);
      await cli.exited;
      const project = JSON.parse(
        cli
          .stdout()
          .trim()
          .split('\n')
          .find((l) => l.includes('"projectId"'))!,
      );
      await killMidSession({ browser, site }, server, project, '/kill-distributed');
    } finally {
      await server.destroy();
      await redis.cleanup();
      await db.drop();
    }
  }, 300_000);
});
