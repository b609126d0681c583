/**
 * One event must not stop storage. Each payload below, accepted and acknowledged, used to
 * make ClickHouse refuse the write-ahead log's chunk holding it, and the applier retried that
 * chunk forever (across restarts too) while every tenant kept getting acks: a lone UTF-16
 * surrogate, one /batch whose events span 101 months, a replay starting in the year 275760, a
 * session whose revenue sum overflows. Now they are stored (made storable), the events sent
 * after them are stored, and the apply lag returns to 0. A row ClickHouse still refuses — here
 * one logged by an older version with a malformed time — is quarantined at start-up recovery,
 * listed, replayed and dropped with the admin commands, and the rest of its chunk is stored.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalQueue } from '../server/engines/queue.wal.ts';
import { makeEvent, makeSession } from '../server/store/clickhouse.fixtures.ts';
import { chTime, emptyBatch } from '../shared/rows.ts';
import { admin, CHROME_UA, post, type Reader, reader, waitUntil } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';
import { runNode } from './support/process.ts';

let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: Reader;
let headers: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer({ SESSION_TIMEOUT_MS: '1000', SESSION_REAP_INTERVAL_MS: '100' });
  project = await server.createProject('Poison', 'example.com');
  read = reader(server.url, project.projectId, project, server.settle);
  headers = { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA };
});

afterAll(async () => {
  await server?.destroy();
});

const track = (name: string, properties: Record<string, unknown> = {}, id?: string) => ({
  ...(id ? { id } : {}),
  type: 'track',
  payload: { name, properties },
});

async function healthz() {
  return (await (await fetch(`${server.url}/healthz`)).json()) as {
    status: string;
    storage: { pendingRows: number; lagMs: number; failingSince: string | null };
  };
}

describe('payloads ClickHouse used to refuse no longer stop storage', () => {
  it('stores them, and the events after them; the lag returns to 0', async () => {
    // A lone surrogate in a name, a key, a value, a profile and a group.
    const lone = await post(
      `${server.url}/batch`,
      {
        events: [
          track('lone\ud800', { 'k\udc00': 'v\ud800' }),
          { type: 'identify', payload: { profileId: 'u\ud800', firstName: '\udc00', properties: { p: '\ud800' } } },
          { type: 'group', payload: { id: 'g\ud800', name: 'n\udfff', properties: { x: '\ud800' } } },
        ],
      },
      headers,
    );
    expect(lone.status).toBe(200);
    expect(lone.json.accepted).toBe(3);
    // 101 months of history in one batch (an import).
    const months = Array.from({ length: 101 }, (_, m) => track('history', { __timestamp: new Date(Date.UTC(2015, m, 2)).toISOString() }));
    expect((await post(`${server.url}/batch`, { events: months }, headers)).json.accepted).toBe(101);
    // A replay chunk from the year 275760.
    const replay = {
      type: 'replay',
      payload: {
        chunk_index: 0,
        events_count: 1,
        is_full_snapshot: true,
        started_at: '+275760-09-13T00:00:00Z',
        ended_at: '+275760-09-13T00:00:01Z',
        payload: '[]',
      },
    };
    expect((await post(`${server.url}/track`, replay, headers)).status).toBe(200);
    // A session whose revenue sum passes 2^53.
    for (let i = 0; i < 3; i++) expect((await post(`${server.url}/track`, track('buy', { __revenue: Number.MAX_SAFE_INTEGER }), headers)).status).toBe(200);
    // And ordinary events after all of it.
    for (let i = 0; i < 5; i++) expect((await post(`${server.url}/track`, track('after'), headers)).status).toBe(200);

    await server.settle(); // hung for ever while a chunk was refused
    expect(await read.count('after')).toBe(5);
    expect(await read.count('history')).toBe(101);
    expect(await read.count('lone\ufffd')).toBe(1);
    expect(await read.profile('u\ufffd')).toMatchObject({ first_name: '\ufffd', properties: { p: '\ufffd' } });
    expect(await read.group('g\ufffd')).toMatchObject({ name: 'n\ufffd' });
    // The session closes (1 s timeout) and is written with its revenue clamped.
    await waitUntil(async () => (await read.count('session_end')) >= 1, 30_000, 100);
    await server.settle();
    const h = await healthz();
    expect(h.status).toBe('ok');
    expect(h.storage).toMatchObject({ pendingRows: 0, lagMs: 0, failingSince: null });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});

describe('a row ClickHouse refuses goes to the quarantine, the rest of its chunk is stored', () => {
  let logged: ReturnType<typeof makeEvent>[];

  it('recovers a write-ahead log an older version left with a malformed time in it', async () => {
    // What an older version logged: 20 events and, in the same record, a session row whose
    // time it formatted from a year-275760 date. The server is stopped while it is written.
    const dataDir = server.dataDir;
    await server.stop();
    logged = Array.from({ length: 20 }, (_, i) =>
      makeEvent(70_000 + i, { project_id: project.projectId, name: 'logged', created_at: chTime(Date.now() - 1000) }),
    );
    const wal = await createWalQueue({ dir: path.join(dataDir, 'wal'), writer: { write: () => new Promise(() => {}) }, flushSize: 1e9, flushIntervalMs: 1e6 });
    const batch = emptyBatch();
    batch.events.push(...logged);
    batch.sessions.push({ ...makeSession('old-session', { project_id: project.projectId }), created_at: '+275760-09-13 00:00:00.' });
    await wal.push(batch);
    // Abandoned here, as if killed: the record is durable in the log and was never applied.

    server = await startTestServer({}, dataDir);
    read = reader(server.url, project.projectId, project, server.settle);
    await server.settle();
    expect(await read.countDistinct('logged')).toEqual({ count: 20, distinct: 20 });
    expect((await healthz()).storage).toMatchObject({ pendingRows: 0, failingSince: null });
  });

  it('lists, replays (still refused: kept) and drops it with the admin commands', async () => {
    const listed = await admin<{ count: number; entries: Array<{ id: string; kind: string; error_code: string; row: string; project_id: string }> }>(
      server.dataDir,
      'quarantine-list',
      { project: project.projectId },
    );
    expect(listed.count).toBe(1);
    expect(listed.entries[0]).toMatchObject({ kind: 'sessions', error_code: '41', project_id: project.projectId });
    expect(JSON.parse(listed.entries[0]!.row)).toMatchObject({ id: 'old-session' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/livepanel_quarantined_rows_total\{table="sessions"\} 1/);

    const replayed = await admin<{ replayed: string[]; failed: Array<{ id: string; error_code: string }> }>(server.dataDir, 'quarantine-replay', {});
    expect(replayed).toMatchObject({ replayed: [], failed: [{ id: listed.entries[0]!.id, error_code: '41' }] });

    // The CLI speaks the same commands (`npm run admin -- quarantine list`).
    const cli = runNode('server/admin/cli.ts', ['quarantine', 'list', '--project', project.projectId], { DATA_DIR: server.dataDir });
    expect((await cli.exited).code).toBe(0);
    expect(JSON.parse(cli.stdout()).count).toBe(1);

    expect(await admin(server.dataDir, 'quarantine-drop', { ids: [listed.entries[0]!.id] })).toEqual({ dropped: 1 });
    expect((await admin<{ count: number }>(server.dataDir, 'quarantine-list', {})).count).toBe(0);
  });
});
