/**
 * The dashboard's calls to Livepanel's API: same-origin `fetch` with the session cookie, the
 * CSRF token on every change (read once from `/api/auth/me`), JSON in and out, and errors as
 * `ApiError` carrying the server's stable code (shared/errors.ts). `projectApi` is the
 * analytics pages' client: the query model and a project's row-level lists.
 */
import type { QueryInput, QueryResponse } from '$shared/query.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}

let csrfToken = '';

/** Remembers the CSRF token of the signed-in session (from sign-in, setup or `/api/auth/me`). */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  /** Custom fetch (SvelteKit's in a load function). */
  fetch?: typeof fetch;
  /** Aborts the request (a page replacing a query in flight). */
  signal?: AbortSignal;
}

/** Calls the API and returns its JSON; throws ApiError for any non-2xx answer. */
export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-livepanel-csrf'] = csrfToken;
  const res = await (opts.fetch ?? fetch)(path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    credentials: 'same-origin',
    signal: opts.signal,
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; issues?: ApiError['issues'] } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? 'internal', e?.message ?? `The server answered ${res.status}`, e?.issues ?? []);
  }
  return json as T;
}

/** A message for people: the server's message, with the first field issue when there is one. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const issue = err.issues[0];
    return issue ? `${err.message}: ${issue.path ? `${issue.path} ` : ''}${issue.message}` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The analytics pages' client for one project: the query model and the row-level lists. */
export interface ProjectApi {
  readonly projectId: string;
  query(q: QueryInput, signal?: AbortSignal): Promise<QueryResponse>;
  /** GET `/api/v1/projects/:projectId/<path>`; undefined and empty parameters are left out. */
  get<T>(path: string, params?: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<T>;
}

/**
 * `project`: the project id, or a function reading it (a layout that outlives a change of
 * project). `headers`, read at each call, adds credentials other than the cookie (a share link's
 * token and grant: `shareHeaders`).
 */
export function projectApi(project: string | (() => string), fetcher?: typeof fetch, headers?: () => Record<string, string>): ProjectApi {
  const id = typeof project === 'string' ? () => project : project;
  return {
    get projectId() {
      return id();
    },
    query: (q, signal) => api<QueryResponse>('/api/v1/query', { method: 'POST', body: q, signal, fetch: fetcher, headers: headers?.() }),
    get<T>(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal) {
      const base = `/api/v1/projects/${encodeURIComponent(id())}`;
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v));
      const qs = search.toString();
      return api<T>(`${base}/${path}${qs ? `?${qs}` : ''}`, { signal, fetch: fetcher, headers: headers?.() });
    },
  };
}

/** The headers that present a share link (its token, and the grant of a password-protected one). */
export function shareHeaders(token: string, grant: string | null | undefined): Record<string, string> {
  return { 'x-livepanel-share': token, ...(grant ? { 'x-livepanel-share-grant': grant } : {}) };
}
