/**
 * The public listener: listens on HOST:PORT and, where the file-descriptor limit can be read,
 * stops accepting while nearly out of descriptors (uWS would otherwise spin on accept()) and
 * listens again on the same port once some are free.
 */

import uWS from 'uWebSockets.js';
import type { Config } from '../config.ts';
import { createFdGuard } from '../http/fd-guard.ts';
import { openFileLimit } from '../limits/socket-caps.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

export interface PublicListener {
  /** The port actually listened on (useful with PORT=0). */
  port: number;
  /** Stops accepting connections (open ones stay). */
  close(): void;
}

export async function listenPublic(app: uWS.TemplatedApp, deps: { config: Config; metrics: Metrics; log: Logger }): Promise<PublicListener> {
  const { config, metrics, log } = deps;
  let listenSocket: uWS.us_listen_socket | null = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`Cannot listen on ${config.host}:${config.port} (port in use?)`)))),
  );
  const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
  // Out of file descriptors, uWS would spin on accept(): stop listening until some are free.
  const fileLimit = openFileLimit();
  const fdGuard =
    fileLimit !== null && Number.isFinite(fileLimit)
      ? createFdGuard({
          limit: fileLimit,
          // Freed for storage while paused (out of the socket caps' reserve of ≥ 256).
          reserve: Math.min(1024, Math.max(64, Math.floor(fileLimit / 20))),
          pause() {
            log.warn({ fileLimit }, 'nearly out of file descriptors: not accepting connections until some close (raise LimitNOFILE?)');
            metrics.listenPaused.set(1);
            if (listenSocket) uWS.us_listen_socket_close(listenSocket);
            listenSocket = null;
          },
          resume() {
            app.listen(config.host, port, (s) => {
              if (!s) return log.error({ port }, 'could not listen again after running low on file descriptors');
              listenSocket = s;
              metrics.listenPaused.set(0);
              log.warn('accepting connections again');
            });
          },
        })
      : undefined;
  return {
    port,
    close() {
      fdGuard?.stop();
      if (listenSocket) uWS.us_listen_socket_close(listenSocket);
      listenSocket = null;
    },
  };
}
