/**
 * Mounts the admin commands for the CLI: in the embedded shape the CLI must not open the data
 * folder a server holds, so it sends its command here instead. Mounted on the server's own
 * admin listener, which binds 127.0.0.1 only (never on the public app, so a reverse proxy on
 * the same machine cannot forward to it); loopback peers only as a second check, and the
 * token the server wrote into its data lock file.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { AppError } from '../errors.ts';
import { handle, readBody, sendJson } from '../http/uws.ts';
import { normalizeIp } from '../ingest/client-ip.ts';
import type { Logger } from '../log.ts';
import { handleAdminRequest } from './admin-http.ts';
import type { AdminContext } from './commands.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '0000:0000:0000:0000:0000:0000:0000:0001']);

export function registerAdminHttp(app: TemplatedApp, deps: { admin: AdminContext; adminToken: string; log: Logger }) {
  app.post(
    '/api/admin/:command',
    handle(
      deps.log,
      async (res, req) => {
        const body = readBody(res, 64 * 1024, req.headers['content-length']);
        if (!LOOPBACK.has(normalizeIp(req.remoteIp))) throw new AppError(403, 'forbidden', 'Admin commands are accepted from this machine only');
        const out = await handleAdminRequest(
          deps.admin,
          deps.adminToken,
          req.params[0]!,
          req.headers['x-livepanel-admin-token'],
          (await body).toString('utf8'),
          deps.log,
        );
        sendJson(res, out.status, out.body);
      },
      { params: 1 },
    ),
  );
}
