/**
 * Which role combinations may run in one process. chDB and PGlite lock their folder to one
 * process (two processes on one folder lose writes or fail), so a split deployment needs the
 * server shapes of those stores, or keeps every role that opens them in one process.
 */
import type { Config } from './config.ts';

export class RoleError extends Error {}

export function checkRoles(config: Config): void {
  const has = (r: Config['roles'][number]) => config.roles.includes(r);
  const all = has('ingest') && has('worker') && has('web');
  if (all) return;
  if (!config.redis) {
    throw new RoleError(`ROLE=${config.roles.join(',')} runs part of Livepanel; the parts talk through Redis: set REDIS_URL (or use ROLE=all)`);
  }
  if (config.postgres.kind === 'pglite') {
    throw new RoleError(`ROLE=${config.roles.join(',')} needs DATABASE_URL: the embedded PGlite store cannot be shared between processes`);
  }
  if (config.clickhouse.kind === 'chdb' && has('worker') !== has('web')) {
    throw new RoleError(
      `ROLE=${config.roles.join(',')} with embedded chDB: the worker and web roles both open the chDB folder, which only one process may do — run them together (ROLE=worker,web) or set CLICKHOUSE_URL`,
    );
  }
}
