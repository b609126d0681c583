import { describe, expect, it } from 'vitest';
import { hashSecret, verifySecret } from '../store/metadata.ts';
import { type ClientRecord, createAuthenticator } from './clients.ts';

const WRITE = '11111111-1111-4111-8111-111111111111';
const READ = '22222222-2222-4222-8222-222222222222';
const SERVER_ONLY = '33333333-3333-4333-8333-333333333333';
const DISABLED = '44444444-4444-4444-8444-444444444444';
const UNKNOWN = '55555555-5555-4555-8555-555555555555';

function setup() {
  const records = new Map<string, ClientRecord>();
  const add = (id: string, r: Partial<ClientRecord>) =>
    records.set(id, { id, projectId: 'p1', type: 'write', secretHash: hashSecret(`sec-${id}`), allowedOrigins: ['shop.example'], disabled: false, ...r });
  add(WRITE, {});
  add(READ, { type: 'read', allowedOrigins: [] });
  add(SERVER_ONLY, { allowedOrigins: [] });
  add(DISABLED, { disabled: true });
  let lookups = 0;
  const auth = createAuthenticator({
    getClient: async (id) => {
      lookups++;
      return records.get(id) ?? null;
    },
    verifySecret,
  });
  return { auth, records, lookups: () => lookups };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { status: number; code: string }) => `${e.status} ${e.code}`,
  );

describe('API client authentication', () => {
  it('a browser client is authorised by its Origin; a server SDK by the secret', async () => {
    const { auth } = setup();
    expect(await auth.forIngest({ clientId: WRITE, origin: 'https://www.shop.example' })).toEqual({
      projectId: 'p1',
      clientId: WRITE,
      clientType: 'write',
      viaSecret: false,
    });
    expect(await auth.forIngest({ clientId: WRITE, secret: `sec-${WRITE}` })).toMatchObject({ viaSecret: true });
    // upper-case ids are the same client
    expect(await auth.forIngest({ clientId: WRITE.toUpperCase(), origin: 'https://shop.example' })).toMatchObject({ clientId: WRITE });
  });

  it('refuses each bad credential with its own stable code', async () => {
    const { auth } = setup();
    expect(await code(auth.forIngest({}))).toBe('401 missing_client_id');
    expect(await code(auth.forIngest({ clientId: 'not-a-uuid' }))).toBe('401 unknown_client');
    expect(await code(auth.forIngest({ clientId: UNKNOWN, origin: 'https://shop.example' }))).toBe('401 unknown_client');
    expect(await code(auth.forIngest({ clientId: DISABLED, origin: 'https://shop.example' }))).toBe('401 client_disabled');
    expect(await code(auth.forIngest({ clientId: WRITE, secret: 'sec-wrong' }))).toBe('401 bad_secret');
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://evil.example' }))).toBe('401 origin_not_allowed');
    expect(await code(auth.forIngest({ clientId: WRITE }))).toBe('401 origin_not_allowed');
    expect(await code(auth.forIngest({ clientId: SERVER_ONLY, origin: 'https://shop.example' }))).toBe('401 secret_required');
    // a read client never sends events (401, which SDKs do not retry)
    expect(await code(auth.forIngest({ clientId: READ, secret: `sec-${READ}` }))).toBe('401 forbidden');
  });

  it('reading needs the secret of a read or root client of that very project', async () => {
    const { auth } = setup();
    expect(await auth.forRead({ clientId: READ, secret: `sec-${READ}` }, 'p1')).toMatchObject({ clientType: 'read', viaSecret: true });
    expect(await code(auth.forRead({ clientId: READ }, 'p1'))).toBe('401 bad_secret');
    expect(await code(auth.forRead({ clientId: READ, secret: `sec-${READ}` }, 'p2'))).toBe('403 forbidden');
    expect(await code(auth.forRead({ clientId: WRITE, secret: `sec-${WRITE}` }, 'p1'))).toBe('403 forbidden');
  });

  it('caches records, including unknown ids, until forgotten', async () => {
    const { auth, records, lookups } = setup();
    await auth.forIngest({ clientId: WRITE, origin: 'https://shop.example' });
    await auth.forIngest({ clientId: WRITE, origin: 'https://shop.example' });
    await code(auth.forIngest({ clientId: UNKNOWN, origin: 'https://shop.example' }));
    await code(auth.forIngest({ clientId: UNKNOWN, origin: 'https://shop.example' }));
    expect(lookups()).toBe(2);
    records.set(WRITE, { ...records.get(WRITE)!, disabled: true });
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://shop.example' }))).toBe('ok');
    auth.forget(WRITE);
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://shop.example' }))).toBe('401 client_disabled');
  });

  // Guards the answer without a promise that `/track` takes first: it must never allow what
  // forIngest refuses, nor outlive a forgotten record.
  it('answers from a cached record only what forIngest would, and nothing once the record is forgotten', async () => {
    const { auth, records } = setup();
    const asked = [
      { clientId: WRITE, origin: 'https://www.shop.example' },
      { clientId: WRITE, origin: 'https://evil.example' },
      { clientId: WRITE },
      { clientId: WRITE, secret: `sec-${WRITE}` },
      { clientId: WRITE, secret: 'sec-wrong' },
      { clientId: WRITE.toUpperCase(), origin: 'https://shop.example' },
      { clientId: READ, secret: `sec-${READ}` },
      { clientId: SERVER_ONLY, origin: 'https://shop.example' },
      { clientId: DISABLED, origin: 'https://shop.example' },
      { clientId: UNKNOWN, origin: 'https://shop.example' },
      {},
    ];
    for (const c of asked) expect(auth.forIngestCached(c)).toBeUndefined(); // nothing read yet
    const answers = await Promise.all(asked.map((c) => auth.forIngest(c).catch(() => undefined)));
    for (let i = 0; i < asked.length; i++) {
      const cached = auth.forIngestCached(asked[i]!);
      // Either no answer (forIngest decides) or forIngest's own; upper-case ids are left to it.
      if (cached !== undefined) expect(cached).toEqual(answers[i]);
    }
    expect(auth.forIngestCached(asked[0]!)).toEqual(answers[0]);
    expect(auth.forIngestCached(asked[3]!)).toEqual(answers[3]); // the secret verified above
    expect(auth.forIngestCached(asked[4]!)).toBeUndefined();
    records.set(WRITE, { ...records.get(WRITE)!, disabled: true });
    auth.forget(WRITE);
    expect(auth.forIngestCached(asked[0]!)).toBeUndefined();
    expect(await code(auth.forIngest(asked[0]!))).toBe('401 client_disabled');
    expect(auth.forIngestCached(asked[0]!)).toBeUndefined();
  });

  // Guards the cached origin verdicts: a client whose allowed origins change must be judged by
  // the new list once its record is read again, in both directions.
  it('judges an origin again when the client record brings a new list of allowed origins', async () => {
    const { auth, records } = setup();
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://shop.example' }))).toBe('ok');
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://blog.example' }))).toBe('401 origin_not_allowed');
    records.set(WRITE, { ...records.get(WRITE)!, allowedOrigins: ['blog.example'] });
    auth.forget(WRITE);
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://blog.example' }))).toBe('ok');
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://shop.example' }))).toBe('401 origin_not_allowed');
  });

  it('keeps answering right past the bound on remembered origins', async () => {
    const { auth } = setup();
    for (let i = 0; i < 2500; i++) expect(await code(auth.forIngest({ clientId: WRITE, origin: `https://x${i}.example` }))).toBe('401 origin_not_allowed');
    expect(await code(auth.forIngest({ clientId: WRITE, origin: 'https://www.shop.example' }))).toBe('ok');
  });
});
