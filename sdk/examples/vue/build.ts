/**
 * Builds the Vue example into one bundle (esbuild) and serves it:
 *
 *   LIVEPANEL_URL=http://localhost:3000 LIVEPANEL_CLIENT_ID=… npx tsx sdk/examples/vue/build.ts
 *   → http://localhost:5174 (allow that origin in the project)
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function buildVueExample(o: { apiUrl: string; clientId: string }): Promise<string> {
  const r = await build({
    entryPoints: [path.join(here, 'src', 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    minify: true,
    tsconfig: path.join(here, '..', '..', 'tsconfig.json'),
    define: {
      LIVEPANEL_URL: JSON.stringify(o.apiUrl),
      LIVEPANEL_CLIENT_ID: JSON.stringify(o.clientId),
      __VERSION__: '"0.1.0"',
      __VUE_OPTIONS_API__: 'true',
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
      'process.env.NODE_ENV': '"production"',
    },
    logLevel: 'warning',
  });
  return r.outputFiles[0]!.text;
}

export const vueExampleHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vue example</title></head>
<body><div id="app"></div><script type="module" src="/app.js"></script></body></html>
`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const apiUrl = process.env.LIVEPANEL_URL ?? 'http://localhost:3000';
  const clientId = process.env.LIVEPANEL_CLIENT_ID ?? '';
  if (!clientId) throw new Error('Set LIVEPANEL_CLIENT_ID (npm run admin -- create-project … prints one)');
  const js = await buildVueExample({ apiUrl, clientId });
  const port = Number(process.env.PORT ?? 5174);
  http
    .createServer((req, res) => {
      if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(vueExampleHtml);
    })
    .listen(port, () => console.log(`Vue example on http://localhost:${port}, sending to ${apiUrl}`));
}
