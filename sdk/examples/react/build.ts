/**
 * Builds the React example into one bundle (esbuild, production React) and serves it:
 *
 *   LIVEPANEL_URL=http://localhost:3000 LIVEPANEL_CLIENT_ID=… npx tsx sdk/examples/react/build.ts
 *   → http://localhost:5173 (every path answers index.html, as an SPA host does)
 *
 * The project's allowed origins must include http://localhost:5173.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The app's JavaScript, configured for one Livepanel and client. */
export async function buildReactExample(o: { apiUrl: string; clientId: string }): Promise<string> {
  const r = await build({
    entryPoints: [path.join(here, 'src', 'main.tsx')],
    bundle: true,
    write: false,
    format: 'esm',
    minify: true,
    jsx: 'automatic',
    tsconfig: path.join(here, '..', '..', 'tsconfig.json'),
    define: {
      LIVEPANEL_URL: JSON.stringify(o.apiUrl),
      LIVEPANEL_CLIENT_ID: JSON.stringify(o.clientId),
      'process.env.NODE_ENV': '"production"',
      __VERSION__: '"0.1.0"',
    },
    logLevel: 'warning',
  });
  return r.outputFiles[0]!.text;
}

export const reactExampleHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>React example</title></head>
<body><div id="root"></div><script type="module" src="/app.js"></script></body></html>
`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const apiUrl = process.env.LIVEPANEL_URL ?? 'http://localhost:3000';
  const clientId = process.env.LIVEPANEL_CLIENT_ID ?? '';
  if (!clientId) throw new Error('Set LIVEPANEL_CLIENT_ID (npm run admin -- create-project … prints one)');
  const js = await buildReactExample({ apiUrl, clientId });
  const port = Number(process.env.PORT ?? 5173);
  http
    .createServer((req, res) => {
      if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(reactExampleHtml);
    })
    .listen(port, () => console.log(`React example on http://localhost:${port}, sending to ${apiUrl}`));
}
