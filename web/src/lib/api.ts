/**
 * The dashboard's client for Livepanel's read API: the query model (`POST /api/v1/query`) and
 * the row-level lists. The one place requests are authenticated — today with the signed-in
 * read client's id and secret (credentials.ts); switching to a session cookie is one edit here.
 * Errors come back as ApiError with the server's stable code.
 */
import type { QueryInput, QueryResponse } from '$shared/query.ts';
import type { Credentials } from './credentials.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Api {
  readonly projectId: string;
  query(q: QueryInput, signal?: AbortSignal): Promise<QueryResponse>;
  /** GET `/api/v1/projects/:projectId/<path>`; undefined parameters are left out. */
  get<T>(path: string, params?: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<T>;
}

export function createApi(creds: Credentials, fetchImpl: typeof fetch = (...a) => fetch(...a)): Api {
  const headers = { 'openpanel-client-id': creds.clientId, 'openpanel-client-secret': creds.clientSecret };
  async function call<T>(url: string, init: RequestInit): Promise<T> {
    let res: Response;
    try {
      res = await fetchImpl(url, { ...init, headers: { ...headers, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'network', 'Livepanel cannot be reached; check your connection');
    }
    const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? 'internal', body?.error?.message ?? `HTTP ${res.status}`);
    return body as T;
  }
  const base = `/api/v1/projects/${encodeURIComponent(creds.projectId)}`;
  return {
    projectId: creds.projectId,
    query: (q, signal) => call<QueryResponse>('/api/v1/query', { method: 'POST', body: JSON.stringify(q), signal }),
    get<T>(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal) {
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v));
      const qs = search.toString();
      return call<T>(`${base}/${path}${qs ? `?${qs}` : ''}`, { method: 'GET', signal });
    },
  };
}
