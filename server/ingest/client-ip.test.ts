import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { type ClientIpOptions, clientIp, fromRight, normalizeIp } from './client-ip.ts';

const oneHop: ClientIpOptions = { trust: { hops: 1 } };

describe('clientIp', () => {
  it('ignores proxy headers unless TRUST_PROXY is set (spoofing guard)', () => {
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '8.8.8.8' }, { trust: false })).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', { 'cf-connecting-ip': '8.8.8.8' }, { trust: false, ipHeader: 'cf-connecting-ip' })).toBe('10.0.0.1');
  });

  it('believes only the hops it trusts, counted from the right: a client cannot prepend its own address', () => {
    // One proxy in front: it appended the peer it saw (1.1.1.1); the client claimed 6.6.6.6 itself.
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 1.1.1.1' }, oneHop)).toBe('1.1.1.1');
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '1.1.1.1' }, oneHop)).toBe('1.1.1.1');
    // Two proxies (CDN → load balancer): the CDN appended the visitor, the balancer the CDN.
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 1.1.1.1, 203.0.113.9' }, { trust: { hops: 2 } })).toBe('1.1.1.1');
    // Fewer entries than hops: the left-most one there is.
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '1.1.1.1' }, { trust: { hops: 3 } })).toBe('1.1.1.1');
    expect(clientIp('10.0.0.1', {}, oneHop)).toBe('10.0.0.1');
  });

  it('trusts listed proxy addresses and subnets only', () => {
    const lan: ClientIpOptions = { trust: { addresses: ['loopback', '10.0.0.0/8'] } };
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 1.1.1.1, 10.0.0.7' }, lan)).toBe('1.1.1.1');
    // A peer that is not a listed proxy is the client, whatever it claims.
    expect(clientIp('8.8.8.8', { 'x-forwarded-for': '1.1.1.1' }, lan)).toBe('8.8.8.8');
    expect(clientIp('::ffff:127.0.0.1', { 'x-forwarded-for': '1.1.1.1' }, lan)).toBe('1.1.1.1');
    expect(clientIp('0000:0000:0000:0000:0000:0000:0000:0001', { 'x-forwarded-for': '2.2.2.2' }, lan)).toBe('2.2.2.2');
  });

  it('uses the one configured header, only from a trusted peer', () => {
    const cf: ClientIpOptions = { trust: { addresses: ['10.0.0.0/8'] }, ipHeader: 'cf-connecting-ip' };
    expect(clientIp('10.0.0.1', { 'cf-connecting-ip': '9.9.9.9', 'x-forwarded-for': '1.1.1.1' }, cf)).toBe('9.9.9.9');
    expect(clientIp('8.8.8.8', { 'cf-connecting-ip': '9.9.9.9' }, cf)).toBe('8.8.8.8');
    // Header missing or garbage: X-Forwarded-For by the trust rules.
    expect(clientIp('10.0.0.1', { 'cf-connecting-ip': 'nope', 'x-forwarded-for': '1.1.1.1' }, cf)).toBe('1.1.1.1');
  });

  it('never takes headers a client can set just because they come first', () => {
    // The old default list began with openpanel-client-ip; nothing reads it now.
    expect(clientIp('10.0.0.1', { 'openpanel-client-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6', 'x-forwarded-for': '1.1.1.1' }, oneHop)).toBe('1.1.1.1');
  });

  it('skips garbage entries and strips ports', () => {
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': 'nope' }, oneHop)).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '8.8.4.4:5555' }, oneHop)).toBe('8.8.4.4');
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '[2001:4860:4860::8888]:443' }, oneHop)).toBe('2001:4860:4860::8888');
  });

  it('unmaps IPv4-mapped IPv6 peers', () => {
    expect(normalizeIp('::ffff:8.8.8.8')).toBe('8.8.8.8');
    expect(normalizeIp('0000:0000:0000:0000:0000:ffff:0808:0808')).toBe('8.8.8.8');
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8::1');
  });
});

describe('TRUST_PROXY and IP_HEADER settings', () => {
  const trust = (env: Record<string, string>) => loadConfig(env).clientIp;
  it('parses off, hop counts, legacy true (one hop) and address lists', () => {
    expect(trust({}).trust).toBe(false);
    expect(trust({ TRUST_PROXY: 'false' }).trust).toBe(false);
    expect(trust({ TRUST_PROXY: 'true' }).trust).toEqual({ hops: 1 });
    expect(trust({ TRUST_PROXY: '2' }).trust).toEqual({ hops: 2 });
    expect(trust({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trust).toEqual({ addresses: ['loopback', '10.0.0.0/8'] });
    expect(trust({ TRUST_PROXY: '1', IP_HEADER: 'CF-Connecting-IP' })).toEqual({ trust: { hops: 1 }, ipHeader: 'cf-connecting-ip' });
  });
  it('refuses bad values and the replaced IP_HEADERS list, naming the variable', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'not-an-ip' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ IP_HEADER: 'a,b' })).toThrow(/IP_HEADER/);
    expect(() => loadConfig({ IP_HEADERS: 'x-real-ip,x-forwarded-for' })).toThrow(/IP_HEADERS: replaced/);
  });
});

// Guards the hop-count path that reads X-Forwarded-For itself: it must pick what proxy-addr
// picks for any header a client or a chain of proxies can send.
describe('clientIp with a hop count, against proxy-addr', () => {
  const viaProxyAddr = (peer: string, xff: string, hops: number) => {
    const found = proxyaddr({ headers: { 'x-forwarded-for': xff }, connection: { remoteAddress: normalizeIp(peer) } } as never, (_a, hop) => hop < hops);
    const m = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(found);
    const ip = found.startsWith('[') ? found.slice(1, found.indexOf(']')) : m ? m[1]! : found;
    return isIP(ip) ? normalizeIp(ip) : normalizeIp(peer);
  };
  const pieces = [
    '1.1.1.1',
    '203.0.113.9:8080',
    '[2001:db8::1]:443',
    '2001:db8::2',
    '::ffff:8.8.8.8',
    'unknown',
    '',
    ' ',
    '  ',
    ',',
    'x y',
    '10.0.0.7',
    '6.6.6.6 ',
  ];

  it('answers as proxy-addr for generated headers, 1 to 4 hops', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 20_000; round++) {
      const n = random(6);
      let xff = '';
      for (let i = 0; i < n; i++) xff += (i > 0 ? [',', ', ', ' ,', ',,'][random(4)]! : '') + pieces[random(pieces.length)]!;
      const hops = 1 + random(4);
      const peer = ['10.0.0.1', '::ffff:127.0.0.1', '::1'][random(3)]!;
      expect(clientIp(peer, { 'x-forwarded-for': xff }, { trust: { hops } }), JSON.stringify({ xff, hops, peer })).toBe(viaProxyAddr(peer, xff, hops));
    }
  });

  it('reads entries from the right as proxy-addr splits them', () => {
    expect(fromRight('a, b ,c', 1)).toBe('c');
    expect(fromRight('a, b ,c', 2)).toBe('b');
    expect(fromRight('a, b ,c', 5)).toBe('a');
    expect(fromRight(' , ,', 1)).toBeUndefined();
    expect(fromRight('x y', 1)).toBe('x y');
  });
});

// Guards the peer read the ingest routes skip: behind a hop count whose header names the client
// uWS's address read is not needed; anywhere else it must still be read (and read once).
describe('clientIp with a function for the peer', () => {
  const counted = () => {
    const calls = { n: 0 };
    return { calls, peer: () => (calls.n++, '::ffff:10.0.0.1') };
  };

  it('does not read the peer when the proxy headers name the client', () => {
    const { calls, peer } = counted();
    expect(clientIp(peer, { 'x-forwarded-for': '6.6.6.6, 1.1.1.1' }, oneHop)).toBe('1.1.1.1');
    expect(clientIp(peer, { 'cf-connecting-ip': '2.2.2.2' }, { trust: { hops: 1 }, ipHeader: 'cf-connecting-ip' })).toBe('2.2.2.2');
    expect(calls.n).toBe(0);
  });

  it('reads it once when they do not, or when trust is by address', () => {
    for (const [headers, opts] of [
      [{}, oneHop],
      [{ 'x-forwarded-for': 'unknown' }, oneHop],
      [{ 'x-forwarded-for': ' , ' }, oneHop],
      [{ 'x-forwarded-for': '1.1.1.1' }, { trust: false }],
      [{ 'x-forwarded-for': '1.1.1.1' }, { trust: { addresses: ['8.8.8.8'] } }],
    ] as Array<[Record<string, string>, ClientIpOptions]>) {
      const { calls, peer } = counted();
      expect(clientIp(peer, headers, opts), JSON.stringify(headers)).toBe('10.0.0.1');
      expect(calls.n).toBe(1);
    }
    const { calls, peer } = counted();
    expect(clientIp(peer, { 'x-forwarded-for': '1.1.1.1' }, { trust: { addresses: ['10.0.0.0/8'] } })).toBe('1.1.1.1');
    expect(calls.n).toBe(1);
  });
});
