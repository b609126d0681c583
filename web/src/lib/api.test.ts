// The API client: credentials on every request, JSON bodies, parameters, and server errors
// turned into ApiError with the stable code.
import { describe, expect, it } from 'vitest';
import { ApiError, createApi } from './api.ts';
import { Loader } from './loader.svelte.ts';

const creds = { projectId: 'p 1', clientId: 'cid', clientSecret: 'sec' };

function fake(status: number, body: unknown) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const impl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(body), { status });
  }) as typeof fetch;
  return { calls, impl };
}

describe('createApi', () => {
  it('posts queries with the read client’s headers', async () => {
    const f = fake(200, { results: [], meta: {} });
    await createApi(creds, f.impl).query({ project_id: 'p 1', date_range: '7d', metrics: ['visitors'] });
    expect(f.calls[0]!.url).toBe('/api/v1/query');
    expect(f.calls[0]!.init.method).toBe('POST');
    expect(f.calls[0]!.init.headers).toMatchObject({ 'openpanel-client-id': 'cid', 'openpanel-client-secret': 'sec', 'content-type': 'application/json' });
  });

  it('builds list URLs under the project, leaving out empty parameters', async () => {
    const f = fake(200, { data: [] });
    await createApi(creds, f.impl).get('sessions', { limit: 20, before: undefined, profile_id: '' });
    expect(f.calls[0]!.url).toBe('/api/v1/projects/p%201/sessions?limit=20');
  });

  it('turns error bodies into ApiError', async () => {
    const f = fake(400, { error: { code: 'invalid_query', message: 'bad' } });
    const err = await createApi(creds, f.impl)
      .query({ project_id: 'p', date_range: '7d', metrics: ['visitors'] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_query', message: 'bad' });
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    await expect(createApi(creds, down).get('events')).rejects.toMatchObject({ code: 'network' });
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
