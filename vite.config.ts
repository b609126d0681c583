// Test runner configuration. Unit tests sit beside the code (*.test.ts); integration tests
// (*.int.test.ts) talk to real Redis, PostgreSQL, PGlite and chDB; end-to-end tests live in tests/.
// The dashboard's logic (web/src/lib: URL ⇄ query mapping, formatting, live state) is a second
// project: Svelte's compiler turns its rune modules (*.svelte.ts) into plain JavaScript.
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // Generous: a beforeAll that starts a server (chDB, PGlite) can take minutes on a loaded machine.
    hookTimeout: 300_000,
    pool: 'forks',
    // chDB and PGlite are heavy; two workers match this 2-core machine.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        // The SDK packages import each other by name; tests run their sources (like tsconfig's paths).
        resolve: {
          alias: [
            { find: /^@livepanel\/([a-z-]+)$/, replacement: here('./sdk/$1/src/index') },
            { find: /^@livepanel\/([a-z-]+)\/([a-z-]+)$/, replacement: here('./sdk/$1/src/$2') },
          ],
        },
        test: { name: 'server', include: ['server/**/*.test.ts', 'shared/**/*.test.ts', 'db/**/*.test.ts', 'sdk/**/*.test.ts', 'tests/**/*.test.ts'] },
      },
      {
        extends: true,
        plugins: [svelte({ configFile: false })],
        resolve: { alias: { $shared: here('./shared'), $lib: here('./web/src/lib') } },
        test: { name: 'web', include: ['web/src/lib/**/*.test.ts'] },
      },
    ],
  },
});
