/**
 * The embedded dedupe survives a crash. An SDK resends every batch it has not seen
 * acknowledged — after a server crash that includes batches that were durable but whose ack
 * was lost — and it may resend acknowledged ones too (two tabs, a retry racing an ack). The
 * server used to forget accepted ids when it restarted, so each such resend was stored again.
 * Here the real process is SIGKILLed, once long after a batch was accepted (its ids already in
 * the id log) and once right after (its ids only in the write-ahead log), restarted on the
 * same folder, and every resend is answered as a duplicate: nothing is counted twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_UA, post, reader, waitUntil } from './support/e2e.ts';
import { type ServerProcess, serverProcess } from './support/process.ts';

let server: ServerProcess;
let project: { projectId: string; clientId: string; clientSecret: string };
let headers: Record<string, string>;

beforeAll(async () => {
  server = await serverProcess();
  await server.start();
  project = await server.admin('create-project', { name: 'Restart', domain: 'example.com' });
  headers = { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA };
});

afterAll(async () => {
  await server?.destroy();
});

const batch = (prefix: string, n: number) => ({
  events: Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'track', payload: { name: 'resent', properties: { i } } })),
});

describe('embedded dedupe across SIGKILL', () => {
  it('answers resends of ids accepted before the crash as duplicates, and stores each event once', async () => {
    const early = await post(`${server.base}/batch`, batch('early', 50), headers);
    expect(early.json).toMatchObject({ accepted: 50 });
    await new Promise((r) => setTimeout(r, 2500)); // applied, and its ids in the id log
    const late = await post(`${server.base}/batch`, batch('late', 50), headers);
    expect(late.json).toMatchObject({ accepted: 50 });
    await server.kill(); // at once: the late ids are only in the write-ahead log

    await server.start();
    for (const prefix of ['early', 'late']) {
      const again = await post(`${server.base}/batch`, batch(prefix, 50), headers);
      expect(again.status).toBe(200);
      expect(again.json.accepted).toBe(0);
      expect(again.json.dropped).toHaveLength(50);
      expect(new Set(again.json.dropped.map((d: { reason: string }) => d.reason))).toEqual(new Set(['duplicate']));
    }
    // A new id is still accepted.
    expect((await post(`${server.base}/batch`, batch('fresh', 1), headers)).json.accepted).toBe(1);

    const read = reader(server.base, project.projectId, project);
    await waitUntil(async () => (await read.count('resent')) >= 101, 30_000, 200);
    expect(await read.countDistinct('resent')).toEqual({ count: 101, distinct: 101 });
  });
});
