/**
 * The real entry points, run the way a user runs them: `server/main.ts` as its own process
 * (what `npm start` runs) and the admin CLI beside it. Start-up banner, admin commands going
 * through the running server, the data-folder lock refusing a second server, a SIGTERM in the
 * middle of traffic losing nothing acknowledged, and a bad setting stopping start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_UA, post, reader, waitUntil } from './support/e2e.ts';
import { freePort, type Proc, runNode } from './support/process.ts';
import { openWs } from './support/ws-client.ts';

const run = runNode;

let dataDir: string;
let port: number;
let base: string;
const running: Proc[] = [];

function startServer(env: Record<string, string> = {}): Proc {
  const p = run('server/main.ts', [], { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', FLUSH_INTERVAL_MS: '1000', ...env });
  running.push(p);
  return p;
}

/** Waits until /healthz answers 200, failing early (with the output) if the process exits. */
async function ready(p: Proc): Promise<void> {
  let exited = false;
  p.exited.then(() => {
    exited = true;
  });
  await waitUntil(
    async () => {
      if (exited) throw new Error(`server exited during start-up:\n${p.stdout()}\n${p.stderr()}`);
      try {
        // The banner and the 'livepanel ready' log line are separate writes: wait for both.
        return (await fetch(`${base}/healthz`)).status === 200 && p.stdout().includes('  projects   ') && p.stdout().includes('"msg":"livepanel ready"');
      } catch {
        return false;
      }
    },
    120_000, // a loaded machine starts chDB and PGlite slowly
    100,
  );
}

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = run('server/admin/cli.ts', args, { DATA_DIR: dataDir });
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-proc-'));
  port = await freePort();
  base = `http://localhost:${port}`;
});

afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('livepanel as a process', () => {
  let server: Proc;
  let project: { projectId: string; clientId: string; clientSecret: string };

  it('starts and prints where everything is', async () => {
    server = startServer();
    await ready(server);
    const banner = server
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('  '));
    expect(banner).toEqual([
      '  Livepanel is running (ingest, worker, web)',
      `  ingest     POST ${base}/track   POST ${base}/batch   ws://localhost:${port}/ws`,
      `  dashboard  ${base}/`,
      `  read API   ${base}/api/v1/projects/:projectId/events`,
      `  health     ${base}/healthz      metrics ${base}/metrics`,
      `  data       ${dataDir} (PGlite + chDB)`,
      '  projects   npm run admin -- create-project --name "My site" --domain example.com',
    ]);
    // Logs are JSON lines on stdout.
    const logs = server
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(logs.find((l) => l.msg === 'livepanel ready')).toMatchObject({ url: base, roles: ['ingest', 'worker', 'web'] });
  }, 240_000);

  it('runs admin commands through the running server', async () => {
    const created = await cli('create-project', '--name', 'Process site', '--domain', 'proc.example.com');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const lines = created.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    project = JSON.parse(lines[0]!);
    expect(Object.keys(project).sort()).toEqual(['clientId', 'clientSecret', 'projectId']);
    expect(project.projectId).toMatch(/^[a-z2-9]{12}$/);
    expect(project.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(project.clientSecret).toMatch(/^sec_[\w-]{43}$/);
    // The server knows the new client at once: the CLI wrote through it, not beside it.
    const r = await post(
      `${base}/track`,
      { type: 'track', payload: { name: 'proc_first' } },
      { 'openpanel-client-id': project.clientId, origin: 'https://proc.example.com', 'user-agent': CHROME_UA },
    );
    expect(r.status).toBe(200);

    // disable-client through the server too: the client is refused from then on.
    const extra = await cli('create-client', '--project', project.projectId, '--type', 'write');
    expect(extra.code).toBe(0);
    const client = JSON.parse(extra.stdout) as { clientId: string; clientSecret: string };
    const disabled = await cli('disable-client', '--client', client.clientId);
    expect({ code: disabled.code, out: JSON.parse(disabled.stdout) }).toEqual({ code: 0, out: { clientId: client.clientId, disabled: true } });
    const refused = await post(
      `${base}/track`,
      { type: 'track', payload: { name: 'proc_disabled' } },
      { 'openpanel-client-id': client.clientId, 'openpanel-client-secret': client.clientSecret },
    );
    expect({ status: refused.status, body: refused.json }).toEqual({
      status: 401,
      body: { error: { code: 'client_disabled', message: 'This client is disabled' } },
    });

    const listed = await cli('list-projects');
    expect(listed.code).toBe(0);
    const projects = JSON.parse(listed.stdout) as Array<{ id: string; name: string; domain: string; clients: Array<{ id: string; type: string }> }>;
    expect(projects).toMatchObject([
      {
        id: project.projectId,
        name: 'Process site',
        domain: 'proc.example.com',
        clients: [
          { id: project.clientId, type: 'root', disabled: false },
          { id: client.clientId, type: 'write', disabled: true },
        ],
      },
    ]);
  }, 240_000);

  it('refuses to start a second server on the same data folder', async () => {
    const second = run('server/main.ts', [], { DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'info' });
    running.push(second);
    const { code } = await second.exited;
    expect(code).toBe(2);
    expect(second.stderr()).toContain(`livepanel: ${dataDir} is in use by process ${server.child.pid} (since `);
    expect(second.stderr()).toContain('Stop that process first');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 240_000);

  it('drains on SIGTERM: everything acknowledged is stored', async () => {
    const secretHeaders = { 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA };
    const ws = await openWs(base, { clientId: project.clientId }, secretHeaders);
    const batches = 10;
    for (let b = 0; b < batches; b++) {
      ws.send({ type: 'batch', seq: b, events: Array.from({ length: 20 }, (_, e) => ({ id: `t-${b}-${e}`, type: 'track', payload: { name: 'proc_ws' } })) });
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const httpResults: Array<'acked' | 'refused' | 'lost'> = [];
    const sendHttp = (i: number) =>
      new Promise<void>((resolve) => {
        const body = JSON.stringify({ type: 'track', payload: { name: 'proc_http', properties: { i } } });
        const req = http.request(
          `${base}/track`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json', 'openpanel-client-id': project.clientId, ...secretHeaders } },
          (res) => {
            res.resume();
            res.on('end', () => {
              httpResults.push(res.statusCode === 200 ? 'acked' : 'refused');
              resolve();
            });
          },
        );
        req.on('error', () => {
          httpResults.push('lost'); // no answer: the client cannot know, and would resend
          resolve();
        });
        req.end(body);
      });
    const inFlight = Array.from({ length: 40 }, (_, i) => sendHttp(i));
    // All 40 received and answered (acknowledged once in the log, applied at the 1 s flush):
    // waited for, not assumed after a fixed delay, which a loaded machine can outlast.
    await waitUntil(async () => httpResults.length === 40, 60_000, 20);

    server.child.kill('SIGTERM');
    // Traffic keeps coming while it drains.
    ws.send({ type: 'batch', seq: batches, events: [{ id: 'late', type: 'track', payload: { name: 'proc_ws' } }] });
    const late = Array.from({ length: 10 }, (_, i) => sendHttp(100 + i));

    let wsAccepted = 0;
    const answers = new Map<number, string>(); // seq → 'ack' or error code
    const record = (frame: Awaited<ReturnType<typeof ws.next>>) => {
      answers.set(frame.seq ?? -1, frame.type === 'ack' ? 'ack' : frame.code);
      if (frame.type === 'ack') wsAccepted += frame.accepted;
    };
    while ([...answers.keys()].filter((seq) => seq < batches).length < batches) record(await ws.next(20_000));
    expect(await ws.closed).toEqual({ code: 1012, reason: 'server restarting; reconnect' });
    // The late batch may be answered before the close, or (nothing in flight) not at all.
    for (const frame of ws.pending()) record(frame);
    await Promise.all([...inFlight, ...late]);
    agent.destroy();
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.stdout()).toContain('"msg":"livepanel stopped"');

    // Every in-flight batch was acknowledged before the close. The late one raced the signal:
    // acknowledged if it arrived before the drain began, refused (resend elsewhere) if after,
    // or unanswered when the socket had already closed (the SDK resends it after reconnecting).
    for (let b = 0; b < batches; b++) expect(answers.get(b)).toBe('ack');
    expect(['ack', 'shutting_down', undefined]).toContain(answers.get(batches));
    expect(wsAccepted).toBe(batches * 20 + (answers.get(batches) === 'ack' ? 1 : 0));
    const httpAcked = httpResults.filter((r) => r === 'acked').length;
    const httpLost = httpResults.filter((r) => r === 'lost').length;
    expect(httpAcked).toBeGreaterThanOrEqual(40); // the 40 in flight were all answered before the exit

    // Same folder, new process: count.
    const again = startServer();
    await ready(again);
    const read = reader(base, project.projectId, project);
    expect(await read.countDistinct('proc_ws')).toEqual({ count: wsAccepted, distinct: wsAccepted });
    const storedHttp = await read.countDistinct('proc_http');
    expect(storedHttp.distinct).toBe(storedHttp.count);
    expect(storedHttp.count).toBeGreaterThanOrEqual(httpAcked);
    expect(storedHttp.count).toBeLessThanOrEqual(httpAcked + httpLost);
    expect(await read.count('proc_first')).toBe(1);

    again.child.kill('SIGTERM');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  }, 240_000);

  it('stops start-up on a bad setting, naming it', async () => {
    const bad = run('server/main.ts', [], { DATA_DIR: dataDir, PORT: 'abc' });
    running.push(bad);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toMatch(/^Invalid configuration:\n {2}PORT: /);
    expect(bad.stdout()).toBe('');
  }, 240_000);
});
