/**
 * The SvelteKit example's Vite config. LIVEPANEL_URL and LIVEPANEL_CLIENT_ID come from the
 * environment; the SDK packages are read from their sources in this repository.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export default defineConfig({
  plugins: [sveltekit()],
  resolve: {
    alias: [{ find: /^@livepanel\/([a-z-]+)$/, replacement: `${sdk}/$1/src/index.ts` }],
  },
  define: {
    LIVEPANEL_URL: JSON.stringify(process.env.LIVEPANEL_URL ?? 'http://localhost:3000'),
    LIVEPANEL_CLIENT_ID: JSON.stringify(process.env.LIVEPANEL_CLIENT_ID ?? ''),
    __VERSION__: '"0.1.0"',
  },
  server: { port: Number(process.env.PORT ?? 5175), fs: { allow: [sdk] } },
  logLevel: 'warn',
});
