/**
 * The admin listener the CLI (`npm run admin`) talks to: its own uWS app on loopback only,
 * never on the public app, so a reverse proxy on this machine (which forwards to the public
 * port) cannot reach it. Only the process holding the data lock opens it; the CLI finds its
 * port and token through the lock file.
 */

import uWS from 'uWebSockets.js';
import { registerAdminHttp } from '../admin/admin.uws.ts';
import type { Config } from '../config.ts';
import type { DataLock } from '../data-lock.ts';
import { sendJson } from '../http/uws.ts';
import type { Logger } from '../log.ts';

/** The admin listener binds here only: loopback, so nothing off this machine (or forwarded by a proxy) reaches it. */
const ADMIN_HOST = '127.0.0.1';

type AdminContext = Parameters<typeof registerAdminHttp>[1]['admin'];

export interface AdminListener {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  close(): void;
}

/** Mounts the admin routes on their own app, listens on ADMIN_PORT and records the port in the data lock. */
export async function startAdminListener(deps: {
  admin: AdminContext;
  adminToken: string;
  lock: DataLock;
  config: Config;
  log: Logger;
}): Promise<AdminListener> {
  const { config, lock } = deps;
  const adminApp = uWS.App();
  // A client disabled (or a password reset) here is revoked on every node at once, through the bus.
  registerAdminHttp(adminApp, { admin: deps.admin, adminToken: deps.adminToken, log: deps.log });
  adminApp.any('/*', (res) => sendJson(res, 404, { error: { code: 'not_found', message: 'No such route' } }));

  const listening = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    adminApp.listen(ADMIN_HOST, config.adminPort, (s) =>
      s ? resolve(s) : reject(new Error(`Cannot listen on ${ADMIN_HOST}:${config.adminPort} (ADMIN_PORT in use?)`)),
    ),
  );
  const adminPort = uWS.us_socket_local_port(listening as unknown as uWS.us_socket);
  try {
    lock.update({ port: adminPort }); // the admin CLI finds the admin listener through the lock
  } catch (err) {
    uWS.us_listen_socket_close(listening);
    throw err;
  }
  return {
    url: `http://${ADMIN_HOST}:${adminPort}`,
    close: () => uWS.us_listen_socket_close(listening),
  };
}
