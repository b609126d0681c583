// SvelteKit configuration of the dashboard, built to web/build by `npm run build:web`. The
// Livepanel server (`web` role, server/web/dashboard.uws.ts) loads build/server and serves
// build/client itself on its uWS app; adapter.js says why it is not adapter-node's output.
import adapter from './adapter.js';

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    adapter: adapter({ out: 'build' }),
    // Page CSP (SvelteKit adds a nonce to its own inline script). The live channel is same-origin;
    // 'self' covers its WebSocket too. Inline styles: Svelte's style: directives and transitions.
    csp: {
      mode: 'auto',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:'],
        'connect-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
      },
    },
    alias: {
      // Wire contracts shared with the server (type-only imports keep zod out of the bundle).
      $shared: '../shared',
    },
    typescript: {
      config(tsconfig) {
        // shared/*.ts import each other with `.ts` extensions (Node + tsx style).
        tsconfig.compilerOptions.allowImportingTsExtensions = true;
        tsconfig.include.push('../../shared/**/*.ts');
      },
    },
  },
};
