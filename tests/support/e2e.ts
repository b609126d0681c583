/**
 * Helpers the end-to-end tests share: reading a project's stored rows back through the read
 * API (`/api/v1`, with the project's root client), and sending raw HTTP to the ingest
 * endpoints. Nothing here talks to the stores directly: what a test sees is what a user of
 * the read API would see.
 */
import { adminEndpoint } from '../../server/data-lock.ts';
import type { ProfileRow } from '../../server/store/profile-ops.ts';
import type { EventRow, GroupRow } from '../../shared/rows.ts';

/** A desktop Chrome on Windows, as a browser would send it. */
export const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
/** Safari on an iPhone. */
export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
export const GOOGLEBOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/**
 * Read access to one project's stored data through `/api/v1` (root or read client). Acks mean
 * durable (in the write-ahead log), not yet in ClickHouse: pass the server's `settle` so each
 * read first waits until everything acknowledged so far has been applied.
 */
export function reader(baseUrl: string, projectId: string, client: Credentials, settle: () => Promise<void> = async () => {}) {
  const headers = { 'openpanel-client-id': client.clientId, 'openpanel-client-secret': client.clientSecret };
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    await settle();
    const res = await fetch(`${baseUrl}/api/v1/projects/${projectId}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as T };
  };
  const ok = async <T>(path: string): Promise<T> => {
    const r = await get<T>(path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    get,
    /** The latest `limit` events, newest first. */
    events: async (limit = 1000) => (await ok<{ data: EventRow[] }>(`/events?limit=${limit}`)).data,
    /** Stored events, optionally of one name. */
    count: async (name?: string) => (await ok<{ count: number }>(`/events/count${name === undefined ? '' : `?name=${encodeURIComponent(name)}`}`)).count,
    /** Stored events and distinct event ids among them (equal unless something was stored twice). */
    countDistinct: async (name?: string) =>
      ok<{ count: number; distinct: number }>(`/events/count?distinct=id${name === undefined ? '' : `&name=${encodeURIComponent(name)}`}`),
    profile: async (id: string) => (await ok<{ data: ProfileRow }>(`/profiles/${encodeURIComponent(id)}`)).data,
    group: async (id: string) => (await ok<{ data: GroupRow }>(`/groups/${encodeURIComponent(id)}`)).data,
  };
}
export type Reader = ReturnType<typeof reader>;

/** Milliseconds of a stored 'YYYY-MM-DD hh:mm:ss.sss' UTC time. */
export function chMs(t: string): number {
  return Date.parse(`${t.replace(' ', 'T')}Z`);
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests assert bodies with toEqual/toMatchObject
  json: any;
}

/** POSTs `body` (an object is sent as JSON; a string or bytes as they are) and reads the whole answer. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Polls `fn` until it returns true or `timeoutMs` passes. */
export async function waitUntil(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs an admin command on the server holding `dataDir`, as `npm run admin` does (its loopback admin listener + lock token). */
export async function admin<T = unknown>(dataDir: string, command: string, args: unknown): Promise<T> {
  const endpoint = adminEndpoint(dataDir);
  if (!endpoint) throw new Error(`no admin listener for ${dataDir}`);
  const r = await post(`${endpoint.url}/api/admin/${command}`, args, { 'x-livepanel-admin-token': endpoint.token });
  if (r.status !== 200) throw new Error(`admin ${command}: ${r.status} ${r.text}`);
  return r.json as T;
}
