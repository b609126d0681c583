/**
 * The HTTP API: one Hono router with every route module mounted — accounts, organisations,
 * projects, share links, the row-level read API, the query API, the export and the OpenAPI
 * document — served on the uWS app under `/api/auth/`, `/api/v1/` and `/api/share/` through
 * the Request/Response bridge. Only the hot ingest paths (`/track`, `/batch`, `/ws`) stay on
 * uWS' own handlers.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { serveFetch } from '../http/fetch.uws.ts';
import { snapshot } from '../http/uws.ts';
import { authRoutes } from './auth.routes.ts';
import { boardRoutes } from './boards.routes.ts';
import type { ApiDeps } from './deps.ts';
import { orgRoutes } from './orgs.routes.ts';
import { projectRoutes } from './projects.routes.ts';
import { type QueryRouteDeps, queryRoutes } from './query.routes.ts';
import { readRoutes } from './read.routes.ts';
import { createRouter, type Router, type RouterDeps, type RouteSpec } from './router.ts';
import { type ShareRouteOptions, shareRoutes } from './shares.routes.ts';

/** URL prefixes the router answers (everything under them, every method). */
export const API_PREFIXES = ['/api/auth/', '/api/v1/', '/api/share/'] as const;

/** What the stored-data routes need (processes with ClickHouse); without it they are not mounted. */
export type DataDeps = Omit<QueryRouteDeps, 'ch'>;

export function buildApi(deps: ApiDeps & Pick<RouterDeps, 'resolveIp' | 'limits'> & { data?: DataDeps }, opts: ShareRouteOptions = {}) {
  const router = createRouter({
    auth: deps.auth,
    log: deps.log,
    ownOrigins: deps.publicUrl ? [new URL(deps.publicUrl).origin] : [],
    resolveIp: deps.resolveIp,
    limits: deps.limits,
  });
  declareRoutes(router, deps, opts);
  return router;
}

/** Every route module, in one place for the server and for `listApiRoutes`. */
function declareRoutes(router: Router, deps: ApiDeps & { data?: DataDeps }, opts: ShareRouteOptions): void {
  authRoutes(router, deps);
  orgRoutes(router, deps);
  projectRoutes(router, deps);
  // A board share must name a board of the project.
  shareRoutes(router, deps, { boardExists: (projectId, boardId) => deps.boards.exists(projectId, boardId), ...opts });
  boardRoutes(router, deps);
  if (deps.ch && deps.data) {
    readRoutes(router, { ch: deps.ch });
    queryRoutes(router, { ch: deps.ch, ...deps.data });
  }
}

/** Every route the API declares, with its access rule (for the tenant-isolation test and docs); builds nothing. */
export function listApiRoutes(): RouteSpec[] {
  const specs: RouteSpec[] = [];
  const recorder = { route: (spec: RouteSpec) => specs.push(spec) } as unknown as Router;
  // Declaring a route uses nothing of its dependencies but a rate limiter's creation.
  declareRoutes(recorder, { rateLimits: { limiter: () => ({}) }, ch: {}, data: {} } as unknown as ApiDeps, {});
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
