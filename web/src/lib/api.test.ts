// The analytics pages' API client: same-origin requests with the session cookie and the CSRF
// token on the query POST, list parameters, and server errors as ApiError with the stable code.
import { describe, expect, it } from 'vitest';
import { ApiError, projectApi, setCsrfToken, shareHeaders } from './api.ts';
import { Loader } from './loader.svelte.ts';

function fake(status: number, body: unknown) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const impl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(body), { status });
  }) as typeof fetch;
  return { calls, impl };
}

describe('projectApi', () => {
  it('posts queries with the session cookie and the CSRF token', async () => {
    setCsrfToken('csrf-1');
    const f = fake(200, { results: [], meta: {} });
    await projectApi('p 1', f.impl).query({ project_id: 'p 1', date_range: '7d', metrics: ['visitors'] });
    expect(f.calls[0]!.url).toBe('/api/v1/query');
    expect(f.calls[0]!.init).toMatchObject({ method: 'POST', credentials: 'same-origin' });
    expect(f.calls[0]!.init.headers).toMatchObject({ 'x-livepanel-csrf': 'csrf-1', 'content-type': 'application/json' });
    expect(JSON.parse(String(f.calls[0]!.init.body))).toMatchObject({ project_id: 'p 1', metrics: ['visitors'] });
  });

  it('presents a share link by its headers, read at each call (the grant arrives after unlocking)', async () => {
    const f = fake(200, { results: [], meta: {} });
    let grant: string | null = null;
    const client = projectApi('p1', f.impl, () => shareHeaders('lpsh_t', grant));
    await client.query({ project_id: 'p1', date_range: '7d', metrics: ['visitors'] });
    grant = 'g1';
    await client.query({ project_id: 'p1', date_range: '7d', metrics: ['visitors'] });
    expect(f.calls[0]!.init.headers).toMatchObject({ 'x-livepanel-share': 'lpsh_t' });
    expect(f.calls[0]!.init.headers).not.toHaveProperty('x-livepanel-share-grant');
    expect(f.calls[1]!.init.headers).toMatchObject({ 'x-livepanel-share': 'lpsh_t', 'x-livepanel-share-grant': 'g1' });
  });

  it('builds list URLs under the project, leaving out empty parameters', async () => {
    const f = fake(200, { data: [] });
    await projectApi('p 1', f.impl).get('sessions', { limit: 20, before: undefined, profile_id: '' });
    expect(f.calls[0]!.url).toBe('/api/v1/projects/p%201/sessions?limit=20');
    expect(f.calls[0]!.init.method).toBe('GET');
  });

  it('turns error bodies into ApiError with the issues', async () => {
    const f = fake(400, { error: { code: 'invalid_query', message: 'bad', issues: [{ path: 'metrics.0', message: 'unknown' }] } });
    const err = await projectApi('p', f.impl)
      .query({ project_id: 'p', date_range: '7d', metrics: ['visitors'] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_query', message: 'bad', issues: [{ path: 'metrics.0', message: 'unknown' }] });
  });
});

describe('Loader', () => {
  it('keeps only the latest answer and surfaces errors', async () => {
    const l = new Loader<number>();
    let release!: (n: number) => void;
    const slow = l.load(() => new Promise<number>((r) => (release = r)));
    const fast = l.load(async () => 2);
    await fast;
    release(1);
    await slow;
    expect(l.data).toBe(2);
    expect(l.loading).toBe(false);
    await l.load(async () => {
      throw new ApiError(500, 'internal', 'x');
    });
    expect(l.error).toBeInstanceOf(ApiError);
    expect(l.data).toBe(2); // the last answer stays while the error shows
  });
});
