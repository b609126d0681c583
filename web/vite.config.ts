import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  // SvelteKit's own plugin does its work in writeBundle; Rolldown's "slow plugin" notice is noise here.
  build: { rolldownOptions: { checks: { bundlerTimings: false } } },
  // For `cd web && npx vite dev`: the live channel and the read API come from a Livepanel
  // running beside it (`npm start`, port 3000).
  server: {
    proxy: {
      '/socket.io': { target: 'http://127.0.0.1:3000', ws: true },
      '/api': { target: 'http://127.0.0.1:3000' },
    },
  },
});
