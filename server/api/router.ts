/**
 * The HTTP API's route layer: a Hono router (Web-standard Request/Response, served from the
 * uWS app through server/http/fetch.uws.ts) where every route declares who may call it —
 * public, any signed-in user, a role in the `:orgId` organisation, or a level on a project
 * (`:projectId`, or where the route says: the query API's body) for given kinds of principal
 * (and of share link) — and the layer enforces it before the handler runs: the request is
 * turned into a principal by the auth module here, and no handler reads credentials itself.
 * Routes may also declare the read budget (failed authentications counted per address, reads
 * per caller: server/limits). The declarations are kept (`specs`), so the tenant-isolation
 * test can walk every route. CSRF is checked here for every state-changing request that a
 * cookie authenticates (and for public ones, by origin); errors become
 * `{error:{code,message}}` in one place.
 */
import { type Context, Hono } from 'hono';
import type { z } from 'zod';
import type { ProjectLevel, Role, ShareTarget } from '../../shared/auth.ts';
import type { Auth, ProjectAccess } from '../auth/auth.ts';
import { checkCsrf } from '../auth/csrf.ts';
import type { Principal, UserPrincipal } from '../auth/principal.ts';
import { AppError, zodIssues } from '../errors.ts';
import { assertAllowed, type Limits } from '../limits/limits.ts';
import type { Logger } from '../log.ts';

export type PrincipalKind = Principal['kind'];

export type Access =
  /** anyone, no credentials (sign-in, setup, a share's public facts) */
  | { kind: 'public' }
  /** any signed-in user */
  | { kind: 'user' }
  /** a signed-in member of `:orgId` with at least this role */
  | { kind: 'org'; role: Role }
  /**
   * a principal of one of `principals` (default: users only) with at least `level` on the
   * project; share links only of the `shares` kinds (default: any)
   */
  | { kind: 'project'; level: ProjectLevel; principals?: PrincipalKind[]; shares?: ShareTarget['kind'][] };

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteSpec {
  method: Method;
  /** Hono path, `:orgId` / `:projectId` naming what access is checked against */
  path: string;
  access: Access;
  summary: string;
  /**
   * Where the project of a `project` route is named, when not in `:projectId`: read from the
   * request before any access check (throw a 400 for a request that names none).
   */
  projectId?: (ctx: RouteContext) => Promise<string>;
  /** Counts against the read budget: failed authentications per address, then one read per caller. */
  readLimited?: boolean;
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
  /** A stable id of the caller for per-caller budgets and logs (`client:<id>`, `user:<id>`, `share:<id>`); '' for nobody. */
  callerId: string;
  /** The JSON body, unvalidated (400 `invalid_json`; an empty body is `{}`). */
  json(): Promise<unknown>;
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
  /** Rate limits for `readLimited` routes (absent: none). */
  limits?: Pick<Limits, 'authenticate' | 'read'>;
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

  /** Declares one route; the caller is authenticated and its access checked before `handler`. */
  function route(spec: RouteSpec, handler: Handler): void {
    specs.push(spec);
    app.on(spec.method, spec.path, async (c) => {
      const headers = Object.fromEntries(c.req.raw.headers);
      // Hono leaves a malformed escape undecoded: the caller's mistake (400), never a lookup of the raw text.
      try {
        decodeURIComponent(new URL(c.req.url).pathname);
      } catch {
        throw new AppError(400, 'invalid_body', 'Malformed percent-escape in the path');
      }
      const ctx: RouteContext = {
        c,
        principal: null,
        user: null,
        ip: deps.resolveIp(c.env?.ip ?? '', headers),
        orgId: '',
        role: null,
        projectId: '',
        project: null,
        callerId: '',
        json: () => parseJson(c),
        body: async (schema) => parseWith(schema, await parseJson(c), 'Invalid request body'),
        query: (schema) => parseWith(schema, c.req.query(), 'Invalid query parameters'),
        param: (name) => c.req.param(name) ?? '', // Hono decodes path parameters
      };
      const a = spec.access;
      const authorise = async () => {
        // Who is calling: bad credentials answer 401 here, they never fall back to another kind.
        const principal = await deps.auth.fromRequest({ headers });
        ctx.principal = principal;
        // A request carrying explicit credentials (client secret, share token) uses no cookie; the rest may.
        if (principal === null ? a.kind === 'public' : principal.kind === 'user') {
          checkCsrf({
            method: c.req.method,
            headers,
            ownOrigins: deps.ownOrigins,
            sessionToken: principal?.kind === 'user' ? principal.sessionToken : undefined,
          });
        }
        ctx.callerId = principal ? callerId(principal) : '';
        if (a.kind === 'user') ctx.user = deps.auth.requireUser(principal);
        else if (a.kind === 'org') {
          ctx.orgId = ctx.param('orgId');
          ctx.role = await deps.auth.requireOrg(principal, ctx.orgId, a.role);
          ctx.user = principal as UserPrincipal;
        } else if (a.kind === 'project') {
          ctx.projectId = spec.projectId ? await spec.projectId(ctx) : ctx.param('projectId');
          const kinds = a.principals ?? DEFAULT_PROJECT_PRINCIPALS;
          if (principal && !kinds.includes(principal.kind)) {
            throw new AppError(
              403,
              'forbidden',
              principal.kind === 'user'
                ? 'Not for signed-in users'
                : principal.kind === 'share'
                  ? 'A share link cannot use this'
                  : 'Only a signed-in user may do this',
            );
          }
          if (principal?.kind === 'share' && a.shares && !a.shares.includes(principal.target.kind)) {
            throw new AppError(403, 'forbidden', `A ${principal.target.kind} share link cannot use this`);
          }
          ctx.project = await deps.auth.requireProject(principal, ctx.projectId, a.level);
          if (principal?.kind === 'user') {
            ctx.user = principal;
            ctx.orgId = ctx.project.orgId ?? '';
            ctx.role = (await deps.auth.rolesOf(principal.userId)).get(ctx.orgId) ?? null;
          }
        }
      };
      if (spec.readLimited && deps.limits) {
        // Failed authentications count against the address; each authorised read against the caller.
        await deps.limits.authenticate(ctx.ip, authorise);
        assertAllowed(await deps.limits.read({ projectId: ctx.projectId, id: ctx.callerId }), 'read requests for this client');
      } else await authorise();
      return handler(ctx);
    });
  }

  return { app, route, specs };
}

export type Router = ReturnType<typeof createRouter>;

/** A stable id of a principal for per-caller budgets and logs. */
export function callerId(p: Principal): string {
  return p.kind === 'client' ? `client:${p.clientId}` : p.kind === 'user' ? `user:${p.userId}` : `share:${p.shareId}`;
}

/** The request's JSON body (`{}` when empty); Hono keeps the text, so reading twice is free. */
async function parseJson(c: Context<ApiEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError(400, 'invalid_json', 'Body is not valid JSON');
  }
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown, message: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new AppError(400, 'invalid_body', message, zodIssues(parsed.error));
  return parsed.data;
}
