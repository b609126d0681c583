/**
 * Helpers for tests of boards in the browser: a signed-in owner's API session, a board and its
 * share link made through the dashboard API, a steady stream of tracked events, and reading
 * tiles off the page (`data-testid="tile-value-<id>"`, the board's `data-link` state).
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { Board, BoardLayoutInput } from '../../shared/boards.ts';
import { CHROME_UA } from './e2e.ts';

export interface ApiSession {
  base: string;
  cookie: string;
  csrf: string;
}

export async function apiSignIn(base: string, email: string, password: string): Promise<ApiSession> {
  const res = await fetch(`${base}/api/auth/sign-in`, {
    method: 'POST',
    headers: { origin: base, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { csrfToken: string };
  return { base, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: body.csrfToken };
}

export async function apiCall<T>(s: ApiSession, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${s.base}${path}`, {
    method,
    headers: { origin: s.base, cookie: s.cookie, 'x-livepanel-csrf': s.csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export const createBoard = (s: ApiSession, projectId: string, name: string, layout: BoardLayoutInput) =>
  apiCall<Board>(s, 'POST', `/api/v1/projects/${projectId}/boards`, { name, layout });

export async function shareBoard(s: ApiSession, projectId: string, boardId: string): Promise<{ token: string; url: string; tvUrl: string; embed: string }> {
  return apiCall(s, 'POST', `/api/v1/projects/${projectId}/shares`, { name: 'Office TV', target: { kind: 'board', id: boardId } });
}

/** Puts the API session's cookie into a browser context (the dashboard is then signed in). */
export async function signInContext(context: BrowserContext, s: ApiSession): Promise<void> {
  const [name, value] = s.cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, url: s.base }]);
}

/** Addresses the bundled GeoIP database places (with coordinates) in different countries. */
export const VISITOR_IPS = ['8.8.8.8', '81.2.69.142', '1.1.1.1', '185.60.216.35', '200.160.2.3', '133.11.0.1'];

/** Sends one event as a server SDK would (secret, a visitor's IP and browser forwarded). */
export async function track(
  base: string,
  client: { clientId: string; clientSecret: string },
  name: string,
  properties: Record<string, unknown> = {},
): Promise<void> {
  const res = await fetch(`${base}/track`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'openpanel-client-id': client.clientId,
      'openpanel-client-secret': client.clientSecret,
      'user-agent': CHROME_UA,
    },
    body: JSON.stringify({ type: 'track', payload: { name, properties: { __path: 'https://example.com/', __ip: '8.8.8.8', ...properties } } }),
  });
  if (res.status !== 200) throw new Error(`track: ${res.status} ${await res.text()}`);
}

/** Text of the element for `testid` ('' while it is not rendered). */
export async function text(page: Page, testid: string): Promise<string> {
  const el = await page.$(`[data-testid="${testid}"]`);
  return ((await el?.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/** Polls `read` until `ok` holds; fails with the last value seen. */
export async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The board's live link state (`connecting`, `syncing`, `live`, `reconnecting`, `refused`). */
export const linkState = (page: Page) => page.$eval('[data-testid="board"]', (el) => el.getAttribute('data-link') ?? '');
