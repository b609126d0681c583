/**
 * Livepanel's SvelteKit adapter. Livepanel serves the dashboard from its own uWebSockets.js
 * app (server/web/dashboard.uws.ts), so what it needs from a build is:
 *   build/client/            static assets (hashed ones under _app/immutable/), precompressed (.br, .gz)
 *   build/server/index.js    exports SvelteKit's `Server` class (answers a Web Request with a Response)
 *   build/server/manifest.js exports `manifest`
 * with every dependency bundled in, so a production install (`npm ci --omit=dev`) runs it.
 *
 * Why not adapter-node's output: adapter-node 5.5 bundles the `Server` class into a chunk with
 * a hashed file name and a mangled export name (`server/chunks/index.js-<hash>.js`, `export { Server as S }`),
 * which only its own handler.js can import. This does the same bundling (with Vite, already
 * here) but keeps the entry points' names. The build is written beside `build/` and swapped in
 * at the end, so two builds at once, or a server reading the old one, never see half a build.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'vite';

/** @returns {import('@sveltejs/kit').Adapter} */
export default function livepanelAdapter({ out = 'build' } = {}) {
  return {
    name: 'livepanel',
    async adapt(builder) {
      if (builder.prerendered.paths.length > 0) {
        throw new Error('The Livepanel adapter does not serve prerendered pages; remove `prerender` from the routes');
      }
      const next = `${out}.next-${process.pid}`;
      builder.rimraf(next);

      builder.log.minor('Copying and compressing client assets');
      builder.writeClient(`${next}/client${builder.config.kit.paths.base}`);
      await builder.compress(`${next}/client`);

      builder.log.minor('Bundling the server');
      const server = builder.getServerDirectory();
      await build({
        configFile: false,
        logLevel: 'warn',
        ssr: { noExternal: true, target: 'node' },
        build: {
          ssr: true,
          target: 'node20',
          outDir: `${next}/server`,
          emptyOutDir: true,
          minify: false,
          sourcemap: true,
          copyPublicDir: false,
          rolldownOptions: {
            input: { index: path.join(server, 'index.js'), manifest: path.join(server, 'manifest.js') },
            preserveEntrySignatures: 'strict',
            output: { format: 'esm', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
          },
        },
      });

      const old = `${out}.old-${process.pid}`;
      if (existsSync(out)) renameSync(out, old);
      renameSync(next, out);
      rmSync(old, { recursive: true, force: true });
    },
  };
}
