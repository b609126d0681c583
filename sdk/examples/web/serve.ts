/**
 * Serves the script-tag example: LIVEPANEL_URL=http://localhost:3000 LIVEPANEL_CLIENT_ID=…
 * npx tsx sdk/examples/web/serve.ts → http://localhost:5172 (allow that origin in the project).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const html = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'index.html'), 'utf8')
  .replaceAll('%LIVEPANEL_URL%', process.env.LIVEPANEL_URL ?? 'http://localhost:3000')
  .replaceAll('%LIVEPANEL_CLIENT_ID%', process.env.LIVEPANEL_CLIENT_ID ?? '');
const port = Number(process.env.PORT ?? 5172);
http
  .createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html))
  .listen(port, () => console.log(`http://localhost:${port}`));
