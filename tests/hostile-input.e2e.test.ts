/**
 * Hostile payloads against the real process (`server/main.ts` as its own child): a single
 * `/ws` frame or `/batch` body nested tens of thousands of levels deep used to end the
 * process (`RangeError: Maximum call stack size exceeded` from the JSON.stringify that
 * measured event sizes, on a promise chain nobody caught) or answer 500, which SDKs retry
 * forever. Each payload must now get a stable 4xx code, the process must stay up, and the
 * valid events sent beside it must be stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_UA, post, reader, waitUntil } from './support/e2e.ts';
import { type ServerProcess, serverProcess } from './support/process.ts';
import { openWs } from './support/ws-client.ts';

let server: ServerProcess;
let project: { projectId: string; clientId: string; clientSecret: string };
let headers: Record<string, string>;

beforeAll(async () => {
  server = await serverProcess();
  await server.start();
  project = await server.admin('create-project', { name: 'Hostile', domain: 'example.com' });
  headers = { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA };
});

afterAll(async () => {
  await server?.destroy();
});

/** `levels` nested arrays around a string, as JSON text (JSON.stringify itself would overflow). */
const deepArrays = (levels: number) => `${'['.repeat(levels)}"x"${']'.repeat(levels)}`;
/** `levels` nested objects. */
const deepObjects = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const event = (id: string, name: string, propertiesJson = '{}') => `{"id":"${id}","type":"track","payload":{"name":"${name}","properties":${propertiesJson}}}`;
/** A valid event big enough that the batch is larger than one event may be (so sizes are measured). */
const padding = (id: string) => event(id, 'beside', JSON.stringify({ pad: 'p'.repeat(40_000) }));

async function alive(): Promise<void> {
  expect(server.proc.dead()).toBe(false);
  expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
}

describe('one deep frame or body cannot kill the process', () => {
  it('a /ws batch holding events nested 10k–150k levels deep is answered per event; the process stays up', async () => {
    const ws = await openWs(server.base, { clientId: project.clientId }, { 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA });
    const frames = [
      `{"type":"batch","seq":1,"events":[${padding('ws-ok-1')},${event('ws-deep-1', 'deep', `{"a":${deepArrays(20_000)}}`)}]}`,
      `{"type":"batch","seq":2,"events":[${padding('ws-ok-2')},${event('ws-deep-2', 'deep', `{"a":${deepObjects(12_000)}}`)}]}`,
      `{"type":"batch","seq":3,"events":[${padding('ws-ok-3')},${event('ws-deep-3', 'deep', `{"a":${deepArrays(150_000)}}`)}]}`,
    ];
    for (const f of frames) ws.socket.send(f);
    const acks = [await ws.next(), await ws.next(), await ws.next()];
    for (const [i, ack] of acks.entries()) {
      expect(ack).toMatchObject({ type: 'ack', seq: i + 1, accepted: 1, dropped: [] });
      if (ack.type !== 'ack') throw new Error('not an ack');
      expect(ack.rejected).toHaveLength(1);
      expect(ack.rejected[0]).toMatchObject({ index: 1 });
      expect(['too_deep', 'payload_too_large']).toContain(ack.rejected[0]!.code);
    }
    await alive();
    await ws.close();
  });

  it('the same payloads on POST /batch answer 200 with per-event rejections, never 500', async () => {
    for (const [i, deep] of [deepArrays(20_000), deepObjects(12_000), deepArrays(150_000)].entries()) {
      const r = await post(`${server.base}/batch`, `{"events":[${padding(`http-ok-${i}`)},${event(`http-deep-${i}`, 'deep', `{"a":${deep}}`)}]}`, headers);
      expect(r.status).toBe(200);
      expect(r.json.accepted).toBe(1);
      expect(r.json.rejected).toHaveLength(1);
      expect(['too_deep', 'payload_too_large']).toContain(r.json.rejected[0].code);
    }
    await alive();
  });

  it('a deep body on /track answers 400 too_deep', async () => {
    const r = await post(`${server.base}/track`, `{"type":"track","payload":{"name":"deep","properties":{"a":${deepArrays(30_000)}}}}`, headers);
    expect({ status: r.status, code: r.json?.error?.code }).toEqual({ status: 400, code: 'too_deep' });
    await alive();
  });

  it('the valid events sent beside them are stored, the deep ones are not', async () => {
    const read = reader(server.base, project.projectId, project);
    await waitUntil(async () => (await read.count('beside')) === 6, 30_000, 200);
    expect(await read.count('deep')).toBe(0);
    await alive();
  });
});
