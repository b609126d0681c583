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
import type { Metadata } from '../store/metadata.ts';
import { handleAdminRequest } from './admin-http.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '0000:0000:0000:0000:0000:0000:0000:0001']);

export function registerAdminHttp(
  app: TemplatedApp,
  deps: {
    metadata: Metadata;
    adminToken: string;
    log: Logger;
    /** Called after each successful command with its result (to act on it: revoke, forget caches). */
    onCommand?: (command: string, result: unknown) => void;
  },
) {
  app.post(
    '/api/admin/:command',
    handle(
      deps.log,
      async (res, req) => {
        const body = readBody(res, 64 * 1024, req.headers['content-length']);
        if (!LOOPBACK.has(normalizeIp(req.remoteIp))) throw new AppError(403, 'forbidden', 'Admin commands are accepted from this machine only');
        const out = await handleAdminRequest(
          deps.metadata,
          deps.adminToken,
          req.params[0]!,
          req.headers['x-livepanel-admin-token'],
          (await body).toString('utf8'),
          deps.log,
        );
        if (out.status === 200) deps.onCommand?.(req.params[0]!, out.body);
        sendJson(res, out.status, out.body);
      },
      { params: 1 },
    ),
  );
}
