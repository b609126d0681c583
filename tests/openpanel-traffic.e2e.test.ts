/**
 * Rate limits must never touch a normal backend's traffic: the published `@openpanel/sdk`
 * with its client secret, as a server forwards its visitors' events, sends thousands of
 * events from one address as fast as it can (with the default limits) and not one answer
 * is a 429 — every event is answered 200 and stored.
 */
import { OpenPanel } from '@openpanel/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_UA, reader } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

const EVENTS = 3000;
const CONCURRENCY = 40;

let server: TestServer;
const realFetch = globalThis.fetch;
const statuses: number[] = [];

beforeAll(async () => {
  server = await startTestServer(); // default rate limits
  // Every answer the SDK gets (it retries non-2xx on its own, so a 429 would otherwise be hidden).
  globalThis.fetch = async (input, init) => {
    const res = await realFetch(input, init);
    if (String(input).endsWith('/track')) statuses.push(res.status);
    return res;
  };
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  await server?.destroy();
});

describe('@openpanel/sdk from a busy backend, default limits', () => {
  it('gets every event answered 200 and stored: no 429', async () => {
    const project = await server.createProject('Backend', 'backend.example.com');
    const op = new OpenPanel({ apiUrl: server.url, clientId: project.clientId, clientSecret: project.clientSecret });
    op.api.addHeader('user-agent', CHROME_UA);
    let next = 0;
    const answers: unknown[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EVENTS) {
          const i = next++;
          answers.push(await op.track('order_placed', { i, __ip: `203.0.113.${i % 200}` }));
        }
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(EVENTS);
    expect(answers.filter((a) => a === null)).toEqual([]);
    const read = reader(server.url, project.projectId, project, server.settle);
    expect(await read.count('order_placed')).toBe(EVENTS);
    expect(await (await realFetch(`${server.url}/metrics`)).text()).not.toMatch(/^livepanel_rate_limited_total\{/m);
  });
});
