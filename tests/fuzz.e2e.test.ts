/**
 * Fuzzing the real process (`server/main.ts`, a child of this test) with generated hostile
 * payloads (fast-check): values nested thousands of levels deep, objects thousands of keys
 * wide, huge and non-finite numbers, every Unicode edge (lone surrogates, NUL, BOM, bytes that
 * are not UTF-8, overlong encodings), absurd dates, wrong types — at `/track`, `/batch`, `/ws`
 * and the socket.io handshake. Every answer must be a documented status or frame (never 500,
 * never a dropped process); after each property the process must still be up; and at the end
 * every valid event sent beside the hostile ones must be stored (read back from chDB through
 * the read API) and the apply lag must return to 0 (nothing stuck).
 *
 * Bounded for CI (FUZZ_RUNS per property, default 25); `npm run fuzz` runs many more.
 */
import fc from 'fast-check';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROME_UA, reader, waitUntil } from './support/e2e.ts';
import { type ServerProcess, serverProcess } from './support/process.ts';
import { openWs } from './support/ws-client.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = { numRuns: RUNS, seed: SEED, endOnFailure: true };
/** Per test: generous, as the cases are bounded by RUNS and only a loaded machine makes them slow. */
const TEST_MS = 120_000 + RUNS * 4000;

let server: ServerProcess;
let project: { projectId: string; clientId: string; clientSecret: string };
let headers: Record<string, string>;
/** Ids of the valid events sent beside the hostile ones and accepted. */
const validAccepted = new Set<string>();
let validSeq = 0;

beforeAll(async () => {
  server = await serverProcess();
  await server.start();
  project = await server.admin('create-project', { name: 'Fuzz', domain: 'example.com' });
  headers = {
    'content-type': 'application/json',
    'openpanel-client-id': project.clientId,
    'openpanel-client-secret': project.clientSecret,
    'user-agent': CHROME_UA,
  };
});

afterAll(async () => {
  await server?.destroy();
});

// ---- generators

/** Strings with every Unicode edge: any code unit (lone surrogates included), NUL, BOM, controls. */
const edgeString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', '\ufeff', '\ud800', '\udfff', 'a\ud83d', '\u{1F600}', '\u202e', '\r\n', '\\', '"', '__proto__', 'constructor', ''),
  fc.string({ maxLength: 3 }).map((s) => s.repeat(3000)),
);
/** Numbers JSON can carry, from tiny to huge (and -0). */
const edgeNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, 8.64e15, 8.64e15 + 1, -1),
  fc.integer(),
);
/** Dates as clients send them, including ones no column can hold. */
const edgeDate = fc.oneof(
  fc.constantFrom(
    '+275760-09-13T00:00:00Z',
    '-271821-04-20T00:00:00Z',
    '0000-00-00',
    '1969-12-31T23:59:59Z',
    '1900-01-01',
    '2299-12-31T23:59:59.999Z',
    'Invalid Date',
    '2024-02-30T25:61:61Z',
    '',
  ),
  edgeNumber,
  fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'NaN' : d.toISOString())),
);
const scalar = fc.oneof(edgeString, edgeNumber, fc.boolean(), fc.constant(null), edgeDate);
/** JSON text nested `levels` deep (built as text: the generator itself must not recurse that deep). */
const deepText = fc
  .tuple(fc.integer({ min: 10, max: 20_000 }), fc.boolean())
  .map(([levels, arrays]) => (arrays ? `${'['.repeat(levels)}1${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`));
/** Any JSON value, moderately nested, sometimes wide. */
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.oneof(
    fc.dictionary(edgeString, tie('value'), { maxKeys: 5 }),
    fc.integer({ min: 400, max: 3000 }).map((n) => wide(n)),
  ),
})).value;
function wide(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
}
const TYPES = ['track', 'identify', 'increment', 'decrement', 'group', 'assign_group', 'replay', 'alias', 'TRACK', ''];
/** An event whose every field may be hostile or of the wrong type. */
const hostileEvent = fc.record(
  {
    id: fc.oneof(edgeString, edgeNumber, fc.constant(undefined)),
    type: fc.oneof(fc.constantFrom(...TYPES), scalar),
    payload: fc.oneof(
      fc.record(
        {
          name: fc.oneof(edgeString, scalar),
          profileId: fc.oneof(edgeString, edgeNumber),
          id: edgeString,
          groupIds: fc.array(edgeString, { maxLength: 3 }),
          property: edgeString,
          value: edgeNumber,
          properties: fc.oneof(
            anyValue,
            fc.record({ __timestamp: edgeDate, __revenue: edgeNumber, __path: edgeString, __deviceId: edgeString, x: anyValue }, { requiredKeys: [] }),
          ),
          chunk_index: edgeNumber,
          events_count: edgeNumber,
          is_full_snapshot: fc.boolean(),
          started_at: edgeDate,
          ended_at: edgeDate,
          payload: edgeString,
        },
        { requiredKeys: [] },
      ),
      scalar,
    ),
  },
  { requiredKeys: [] },
);
/** Event JSON text: a hostile event, or one with a deep value spliced in as text. */
const hostileEventText = fc.oneof(
  { weight: 3, arbitrary: hostileEvent.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: deepText.map((d) => `{"type":"track","payload":{"name":"deep","properties":{"d":${d}}}}`) },
);

const validEvent = () => {
  const id = `valid-${++validSeq}`;
  return {
    id,
    text: JSON.stringify({ id, type: 'track', payload: { name: 'fuzz_valid', properties: { seq: validSeq, __path: 'https://example.com/fuzz' } } }),
  };
};

/** Keeps the events of one body or frame under the 1 MiB limit (a bigger one is refused whole, by design). */
function underLimit(events: string[]): string[] {
  const out: string[] = [];
  let size = 0;
  for (const e of events) {
    if (size + e.length > 900_000) continue;
    out.push(e);
    size += e.length;
  }
  return out;
}

// ---- checks

const HTTP_OK = new Set([200, 202, 400, 401, 413]);

async function post(path: string, body: string | Uint8Array): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.base}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

async function alive(): Promise<void> {
  expect(server.proc.dead(), `the server died:\n${server.proc.stderr().slice(-2000)}`).toBe(false);
  expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
}

describe('fuzz: hostile payloads never crash the process, never 500, never stop storage', () => {
  it(
    'POST /track answers a documented status to any body',
    async () => {
      const body = fc.oneof(
        hostileEventText,
        anyValue.map((v) => JSON.stringify(v) ?? 'null'),
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(new Uint8Array([0xc0, 0xaf]), new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), new Uint8Array([0xed, 0xa0, 0x80])),
      );
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const r = await post('/track', b);
          expect(HTTP_OK.has(r.status), `status ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`).toBe(true);
        }),
        params,
      );
      await alive();
    },
    TEST_MS,
  );

  it(
    'POST /batch stores the valid event beside any hostile ones',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hostileEventText, { minLength: 1, maxLength: 8 }), fc.nat(), async (hostile, at) => {
          const valid = validEvent();
          const events = underLimit(hostile);
          const index = at % (events.length + 1);
          events.splice(index, 0, valid.text);
          const r = await post('/batch', `{"events":[${events.join(',')}]}`);
          expect(r.status, JSON.stringify(r.json).slice(0, 300)).toBe(200);
          const out = r.json as { accepted: number; rejected: Array<{ index: number }>; dropped: Array<{ index: number }> };
          expect(out.rejected.some((x) => x.index === index) || out.dropped.some((x) => x.index === index)).toBe(false);
          validAccepted.add(valid.id);
        }),
        params,
      );
      await alive();
    },
    TEST_MS,
  );

  it(
    '/ws answers every frame (ack or error frame) and acknowledges the valid event beside hostile ones',
    async () => {
      const ws = await openWs(server.base, { clientId: project.clientId }, { 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA });
      let seq = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(hostileEventText, { minLength: 1, maxLength: 6 }), fc.oneof(fc.constant('batch'), anyValue), async (hostile, shape) => {
          if (shape !== 'batch' && shape !== 'heartbeat') {
            // A frame that is not a batch at all: an error frame, the socket stays open.
            ws.socket.send(JSON.stringify({ type: shape, seq: 1 }) ?? 'null');
            const f = await ws.next(30_000);
            expect(f.type).toBe('error');
          }
          const valid = validEvent();
          const s = ++seq;
          const events = underLimit(hostile);
          ws.socket.send(`{"type":"batch","seq":${s},"events":[${[...events, valid.text].join(',')}]}`);
          const ack = await ws.next(30_000);
          expect(ack, JSON.stringify(ack).slice(0, 300)).toMatchObject({ type: 'ack', seq: s });
          if (ack.type !== 'ack') return;
          const index = events.length;
          expect(ack.rejected.some((x) => x.index === index) || ack.dropped.some((x) => x.index === index)).toBe(false);
          validAccepted.add(valid.id);
        }),
        params,
      );
      expect(ws.open).toBe(true);
      await ws.close();
      await alive();
    },
    TEST_MS,
  );

  it(
    'the socket.io handshake refuses any hostile auth (a stable code, or the transport closed when over the size limit)',
    async () => {
      const auth = fc.oneof(
        anyValue,
        fc.record({ clientId: scalar, clientSecret: scalar, projectId: scalar, token: scalar }, { requiredKeys: [] }),
        fc.integer({ min: 10, max: 1500 }).map((levels) => {
          let v: unknown = 'x';
          for (let i = 0; i < levels; i++) v = { a: v };
          return { clientId: v, projectId: project.projectId };
        }),
      );
      await fc.assert(
        fc.asyncProperty(auth, async (a) => {
          const socket = io(server.base, {
            auth: (typeof a === 'object' && a !== null && !Array.isArray(a) ? a : { value: a }) as Record<string, unknown>,
            transports: ['websocket'],
            reconnection: false,
            timeout: 20_000, // past it the client reports `timeout` itself
          });
          const outcome = await Promise.race([
            new Promise<string>((resolve) => {
              socket.on('connect', () => resolve('connected'));
              socket.on('connect_error', (err) => resolve(String((err as { data?: { code?: string } }).data?.code ?? err.message)));
              // An auth over 4 KiB of JSON is refused with payload_too_large; past the socket.io message limit (1 MiB) the transport is cut.
              socket.on('disconnect', () => resolve('closed'));
              socket.io.on('close', () => resolve('closed'));
            }),
            new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 30 s'), 30_000)),
          ]);
          socket.close();
          expect(outcome).not.toBe('connected');
          expect(outcome).toMatch(/^[a-z_]+$/);
        }),
        { ...params, numRuns: Math.max(5, Math.round(RUNS / 2)) },
      );
      await alive();
    },
    TEST_MS,
  );

  it('every valid event is stored, exactly once, and nothing is stuck: the apply lag returns to 0', async () => {
    const read = reader(server.base, project.projectId, project);
    await waitUntil(async () => (await read.count('fuzz_valid')) >= validAccepted.size, 60_000, 250);
    expect(await read.countDistinct('fuzz_valid')).toEqual({ count: validAccepted.size, distinct: validAccepted.size });
    await waitUntil(
      async () => {
        const h = (await (await fetch(`${server.base}/healthz`)).json()) as { status: string; storage?: { pendingRows: number; lagMs: number } };
        return h.status === 'ok' && h.storage?.pendingRows === 0 && h.storage.lagMs === 0;
      },
      60_000,
      250,
    );
    await alive();
  });
});
