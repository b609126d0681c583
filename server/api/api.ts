/**
 * The dashboard API: one Hono router with every route module mounted, served on the uWS app
 * under `/api/auth/`, `/api/v1/` and `/api/share/` through the Request/Response bridge. The
 * ingest paths (`/track`, `/batch`, `/ws`) stay on uWS' own handlers, and so, for now, do the
 * row-level read API and the query API (`read.uws.ts`, `query.uws.ts`; uWS prefers their
 * exact routes to the router's wildcard), which ask the auth module through `read-auth.ts`.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { serveFetch } from '../http/fetch.uws.ts';
import { snapshot } from '../http/uws.ts';
import { authRoutes } from './auth.routes.ts';
import { boardRoutes } from './boards.routes.ts';
import type { ApiDeps } from './deps.ts';
import { orgRoutes } from './orgs.routes.ts';
import { projectRoutes } from './projects.routes.ts';
import { createRouter, type Router, type RouterDeps, type RouteSpec } from './router.ts';
import { type ShareRouteOptions, shareRoutes } from './shares.routes.ts';

/** URL prefixes the router answers (everything under them, every method). */
export const API_PREFIXES = ['/api/auth/', '/api/v1/', '/api/share/'] as const;

export function buildApi(deps: ApiDeps & Pick<RouterDeps, 'resolveIp'>, opts: ShareRouteOptions = {}) {
  const router = createRouter({
    auth: deps.auth,
    log: deps.log,
    ownOrigins: deps.publicUrl ? [new URL(deps.publicUrl).origin] : [],
    resolveIp: deps.resolveIp,
  });
  declareRoutes(router, deps, opts);
  return router;
}

/** Every route module, in one place for the server and for `listApiRoutes`. */
function declareRoutes(router: Router, deps: ApiDeps, opts: ShareRouteOptions): void {
  authRoutes(router, deps);
  orgRoutes(router, deps);
  projectRoutes(router, deps);
  // A board share must name a board of the project.
  shareRoutes(router, deps, { boardExists: (projectId, boardId) => deps.boards.exists(projectId, boardId), ...opts });
  boardRoutes(router, deps);
}

/** Every route the API declares, with its access rule (for the tenant-isolation test and docs); builds nothing. */
export function listApiRoutes(): RouteSpec[] {
  const specs: RouteSpec[] = [];
  const recorder = { route: (spec: RouteSpec) => specs.push(spec) } as unknown as Router;
  // Declaring a route uses nothing of its dependencies but a rate limiter's creation.
  declareRoutes(recorder, { rateLimits: { limiter: () => ({}) } } as unknown as ApiDeps, {});
  return specs;
}

/** Mounts the router on the uWS app for every API prefix. */
export function mountApi(app: TemplatedApp, router: ReturnType<typeof buildApi>, opts: { log: ApiDeps['log']; publicUrl?: string }): void {
  const handler = (res: Parameters<Parameters<TemplatedApp['any']>[1]>[0], req: Parameters<Parameters<TemplatedApp['any']>[1]>[1]) =>
    serveFetch(res, snapshot(res, req), (request, ip) => Promise.resolve(router.app.fetch(request, { ip })), {
      log: opts.log,
      publicUrl: opts.publicUrl,
      maxBodyBytes: 64 * 1024,
    });
  for (const prefix of API_PREFIXES) app.any(`${prefix}*`, handler);
}
