// Test runner configuration. Unit tests sit beside the code (*.test.ts); integration tests
// (*.int.test.ts) talk to real Redis, PostgreSQL, PGlite and chDB; end-to-end tests live in tests/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // web/src/lib: the dashboard's plain TypeScript helpers (no Svelte runes).
    include: ['server/**/*.test.ts', 'shared/**/*.test.ts', 'db/**/*.test.ts', 'sdk/**/*.test.ts', 'tests/**/*.test.ts', 'web/src/lib/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // chDB and PGlite are heavy; two workers match this 2-core machine.
    maxWorkers: 2,
  },
});
