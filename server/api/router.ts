/**
 * The dashboard API's route layer: a Hono router (Web-standard Request/Response, served from
 * the uWS app through server/http/fetch.uws.ts) where every route declares who may call it
 * — public, any signed-in user, a role in the `:orgId` organisation, or a level on the
 * `:projectId` project for given kinds of principal — and the layer enforces it before the
 * handler runs: no handler reads credentials itself. The declarations are kept (`specs`), so
 * the tenant-isolation test can walk every route. CSRF is checked here for every
 * state-changing request that a cookie authenticates; errors become `{error:{code,message}}`
 * in one place.
 */
import { type Context, Hono } from 'hono';
import type { z } from 'zod';
import type { ProjectLevel, Role } from '../../shared/auth.ts';
import type { Auth, ProjectAccess } from '../auth/auth.ts';
import { checkCsrf } from '../auth/csrf.ts';
import type { Principal, UserPrincipal } from '../auth/principal.ts';
import { AppError, zodIssues } from '../errors.ts';
import type { Logger } from '../log.ts';

export type PrincipalKind = Principal['kind'];

export type Access =
  /** anyone, no credentials (sign-in, setup, a share's public facts) */
  | { kind: 'public' }
  /** any signed-in user */
  | { kind: 'user' }
  /** a signed-in member of `:orgId` with at least this role */
  | { kind: 'org'; role: Role }
  /** a principal of one of `principals` (default: users only) with at least `level` on `:projectId` */
  | { kind: 'project'; level: ProjectLevel; principals?: PrincipalKind[] };

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteSpec {
  method: Method;
  /** Hono path, `:orgId` / `:projectId` naming what access is checked against */
  path: string;
  access: Access;
  summary: string;
}

export interface ApiEnv {
  Bindings: { ip: string };
  Variables: { principal: Principal | null };
}

/** What a handler gets: the checked principal and what it was granted, plus input helpers. */
export interface RouteContext {
  c: Context<ApiEnv>;
  principal: Principal | null;
  /** set for `user`, `org` and user-called `project` routes */
  user: UserPrincipal | null;
  ip: string;
  orgId: string;
  role: Role | null;
  projectId: string;
  project: ProjectAccess | null;
  /** The JSON body validated against `schema` (400 `invalid_json` / `invalid_body`). */
  body<S extends z.ZodType>(schema: S): Promise<z.infer<S>>;
  /** The query string validated against `schema` (400 `invalid_body`). */
  query<S extends z.ZodType>(schema: S): z.infer<S>;
  /** A path parameter, percent-decoded (400 for a malformed escape). */
  param(name: string): string;
}

export type Handler = (ctx: RouteContext) => Promise<Response>;

export interface RouterDeps {
  auth: Auth;
  log: Logger;
  /** Origins this Livepanel is served at, beside the request's Host (PUBLIC_URL). */
  ownOrigins: readonly string[];
  /** The client's address from the TCP peer and headers (trusted-proxy rules). */
  resolveIp(remoteIp: string, headers: Record<string, string | undefined>): string;
}

const DEFAULT_PROJECT_PRINCIPALS: PrincipalKind[] = ['user'];

export function createRouter(deps: RouterDeps) {
  const app = new Hono<ApiEnv>();
  const specs: RouteSpec[] = [];

  app.onError((err, c) => {
    if (err instanceof AppError) {
      const headers: Record<string, string> = {};
      if (err.retryAfterMs !== undefined) headers['retry-after'] = String(Math.ceil(err.retryAfterMs / 1000));
      return c.json(err.toBody(), err.status as 400, headers);
    }
    deps.log.error({ err, path: c.req.path }, 'api handler failed');
    return c.json({ error: { code: 'internal', message: 'Internal error; safe to retry' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'No such route' } }, 404));

  // Every request: who is calling (bad credentials answer 401 here), then CSRF for cookie-authenticated changes.
  app.use('*', async (c, next) => {
    const headers = Object.fromEntries(c.req.raw.headers);
    const principal = await deps.auth.fromRequest({ headers });
    c.set('principal', principal);
    // A request that carries explicit credentials (client secret, share token) uses no cookie; the rest may.
    if (principal === null || principal.kind === 'user') {
      checkCsrf({ method: c.req.method, headers, ownOrigins: deps.ownOrigins, sessionToken: principal?.kind === 'user' ? principal.sessionToken : undefined });
    }
    await next();
  });

  /** Declares one route; the access check runs before `handler`. */
  function route(spec: RouteSpec, handler: Handler): void {
    specs.push(spec);
    app.on(spec.method, spec.path, async (c) => {
      const principal = c.get('principal');
      const param = (name: string) => {
        const raw = c.req.param(name) ?? '';
        return raw; // Hono decodes path parameters
      };
      const ctx: RouteContext = {
        c,
        principal,
        user: null,
        ip: deps.resolveIp(c.env?.ip ?? '', Object.fromEntries(c.req.raw.headers)),
        orgId: '',
        role: null,
        projectId: '',
        project: null,
        body: (schema) => parseBody(c, schema),
        query: (schema) => parseWith(schema, c.req.query(), 'Invalid query parameters'),
        param,
      };
      const a = spec.access;
      if (a.kind === 'user') ctx.user = deps.auth.requireUser(principal);
      else if (a.kind === 'org') {
        ctx.orgId = param('orgId');
        ctx.role = await deps.auth.requireOrg(principal, ctx.orgId, a.role);
        ctx.user = principal as UserPrincipal;
      } else if (a.kind === 'project') {
        ctx.projectId = param('projectId');
        const kinds = a.principals ?? DEFAULT_PROJECT_PRINCIPALS;
        if (principal && !kinds.includes(principal.kind)) {
          throw new AppError(403, 'forbidden', principal.kind === 'user' ? 'Not for signed-in users' : 'Only a signed-in user may do this');
        }
        ctx.project = await deps.auth.requireProject(principal, ctx.projectId, a.level);
        if (principal?.kind === 'user') {
          ctx.user = principal;
          ctx.orgId = ctx.project.orgId ?? '';
          ctx.role = (await deps.auth.rolesOf(principal.userId)).get(ctx.orgId) ?? null;
        }
      }
      return handler(ctx);
    });
  }

  return { app, route, specs };
}

export type Router = ReturnType<typeof createRouter>;

async function parseBody<S extends z.ZodType>(c: Context<ApiEnv>, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new AppError(400, 'invalid_json', 'Body is not valid JSON');
    }
  }
  return parseWith(schema, json, 'Invalid request body');
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown, message: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new AppError(400, 'invalid_body', message, zodIssues(parsed.error));
  return parsed.data;
}
