// Test runner configuration. Unit tests sit beside the code (*.test.ts); integration tests
// (*.int.test.ts) talk to real Redis, PostgreSQL, PGlite and chDB; end-to-end tests live in tests/.
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The SDK packages import each other by name; tests run their sources (like tsconfig's paths).
  resolve: {
    alias: [
      { find: /^@livepanel\/([a-z-]+)$/, replacement: path.resolve('sdk/$1/src/index') },
      { find: /^@livepanel\/([a-z-]+)\/([a-z-]+)$/, replacement: path.resolve('sdk/$1/src/$2') },
    ],
  },
  test: {
    include: ['server/**/*.test.ts', 'shared/**/*.test.ts', 'db/**/*.test.ts', 'sdk/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // chDB and PGlite are heavy; two workers match this 2-core machine.
    maxWorkers: 2,
  },
});
