/**
 * The operator routes on the public app: `/healthz` (alive, and which roles), `/readyz` (ready
 * for traffic: accepting, storage keeping up, Redis connected) and `/metrics` (Prometheus,
 * behind `METRICS_TOKEN` when one is set).
 */

import type uWS from 'uWebSockets.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import type { createHealth } from '../health.ts';
import { send, sendError, sendJson } from '../http/uws.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

/** True when an `Authorization` header carries `Bearer <token>` (compared in constant time). */
function bearerMatches(header: string, token: string): boolean {
  const given = createHash('sha256')
    .update(header.startsWith('Bearer ') ? header.slice(7) : '')
    .digest();
  return timingSafeEqual(given, createHash('sha256').update(token).digest()) && header.startsWith('Bearer ');
}

export function registerOpsRoutes(
  app: uWS.TemplatedApp,
  deps: { config: Config; health: ReturnType<typeof createHealth>; metrics: Metrics; log: Logger },
): void {
  const { config, health, metrics, log } = deps;
  app.get('/healthz', (res) => {
    const h = health.healthz({ roles: config.roles });
    sendJson(res, h.status, h.body);
  });
  app.get('/readyz', (res) => {
    const h = health.readyz();
    sendJson(res, h.status, h.body);
  });
  app.get('/metrics', (res, req) => {
    res.onAborted(() => {
      res.aborted = true;
    });
    if (config.metricsToken && !bearerMatches(req.getHeader('authorization'), config.metricsToken)) {
      sendJson(res, 401, { error: { code: 'bad_secret', message: 'Send Authorization: Bearer <METRICS_TOKEN>' } }, { 'www-authenticate': 'Bearer' });
      return;
    }
    metrics.registry.metrics().then(
      (text) => send(res, 200, text, {}, metrics.registry.contentType),
      (err) => sendError(res, err, log),
    );
  });
}
