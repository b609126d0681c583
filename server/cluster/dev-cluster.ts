/**
 * `npm run dev:cluster` — the docker-compose topology without Docker: two ingest nodes and one
 * worker+web node on local Redis and PostgreSQL, events in a chDB folder. Ctrl-C drains all.
 * Settings: REDIS_URL (redis://127.0.0.1:6379), DATABASE_URL
 * (postgres://postgres@127.0.0.1:5432/livepanel, created if missing), DATA_DIR (./data/cluster),
 * PORT (3000: ingest nodes on PORT and PORT+1, worker+web on PORT+100).
 */
import path from 'node:path';
import postgres from 'postgres';
import { startLocalCluster } from './local-cluster.ts';

const env = process.env;
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/livepanel';
const base = Number(env.PORT ?? 3000);

async function ensureDatabase(url: string) {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) await sql.unsafe(`create database "${name.replace(/"/g, '')}"`);
  } finally {
    await sql.end();
  }
}

await ensureDatabase(databaseUrl);
const cluster = await startLocalCluster({
  redisUrl,
  redisPrefix: env.REDIS_PREFIX ?? 'lp:',
  databaseUrl,
  dataDir: path.resolve(env.DATA_DIR ?? './data/cluster'),
  ingestPorts: [base, base + 1],
  workerPort: base + 100,
  env: { LOG_LEVEL: env.LOG_LEVEL ?? 'info' },
  echo: true,
});
console.log(`
  Livepanel cluster is running
  ingest     ${cluster.ingest.map((n) => n.url).join('   ')}   (/track, /batch, /ws)
  web        ${cluster.worker.url}   (/api/v1, worker + chDB)
  projects   DATABASE_URL=${databaseUrl} npm run admin -- create-project --name "My site" --domain example.com
`);
const stop = () => cluster.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
