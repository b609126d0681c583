/**
 * Test support: a fresh, uniquely named PostgreSQL database per test run on the shared
 * local server (127.0.0.1:5432, trust auth, user `postgres`), dropped afterwards, so runs
 * never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** Maintenance database URL used to create and drop the per-run databases. */
export const TEST_POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** connection URL of the new, empty database */
  url: string;
  /** drops the database, disconnecting anyone still connected */
  drop(): Promise<void>;
}

/** Creates an empty database `lp_test_<random>`; call `drop()` when done. */
export async function createTestDatabase(adminUrl = TEST_POSTGRES_ADMIN_URL): Promise<TestDatabase> {
  const name = `lp_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const conn = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await conn.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await conn.end({ timeout: 5 });
      }
    },
  };
}
