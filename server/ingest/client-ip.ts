/**
 * The client's IP for enrichment and per-IP limits. Proxy headers are believed only as far as
 * `TRUST_PROXY` says, following Express's `trust proxy` rules through `proxy-addr`: walking
 * `X-Forwarded-For` from the RIGHT (the entry the nearest proxy appended), each trusted hop is
 * skipped and the first untrusted address is the client. A client can prepend whatever it
 * likes to the header; it cannot change what the proxies in front of us append, so the
 * left-most entry is never believed just for being first.
 *
 * Trust is either a number of proxy hops (`1`: one reverse proxy in front, which appends the
 * peer it saw) or a list of proxy addresses/subnets (`10.0.0.0/8`, `loopback`, …). Optionally
 * one header a trusted proxy sets to the client address (`IP_HEADER`, e.g. `cf-connecting-ip`)
 * is used instead of `X-Forwarded-For`, and only when the peer itself is a trusted proxy.
 */
import net from 'node:net';
import proxyaddr from 'proxy-addr';

/** `TRUST_PROXY` as configured: nothing, a hop count, or proxy addresses/subnets. */
export type TrustProxySetting = false | { hops: number } | { addresses: string[] };

export interface ClientIpOptions {
  trust: TrustProxySetting;
  /** A header a trusted proxy sets to the client's address (lower case); X-Forwarded-For when absent. */
  ipHeader?: string;
}

type TrustFn = (addr: string, hop: number) => boolean;

/** Compiled trust functions, per options object (the hot path must not recompile). */
const compiled = new WeakMap<ClientIpOptions, TrustFn | null>();

/** Turns a TRUST_PROXY setting into proxy-addr's trust function; throws TypeError on a bad address. */
export function compileTrust(setting: TrustProxySetting): TrustFn | null {
  if (setting === false) return null;
  if ('hops' in setting) {
    const n = setting.hops;
    return n <= 0 ? null : (_addr, hop) => hop < n;
  }
  return proxyaddr.compile(setting.addresses);
}

function trustOf(opts: ClientIpOptions): TrustFn | null {
  let fn = compiled.get(opts);
  if (fn === undefined) {
    fn = compileTrust(opts.trust);
    compiled.set(opts, fn);
  }
  return fn;
}

/**
 * The client's address. `remoteIp`: the TCP peer, or a function that reads it (uWS's read
 * costs ≈ 2 µs): behind a hop count whose proxy headers name the client, it is not called.
 */
export function clientIp(remoteIp: string | (() => string), headers: Record<string, string | undefined>, opts: ClientIpOptions): string {
  const trust = trustOf(opts);
  if (!trust) return peerOf(remoteIp);
  const hops = opts.trust && 'hops' in opts.trust ? opts.trust.hops : 0;
  if (hops > 0) return behindHops(headers, opts.ipHeader, hops) ?? peerOf(remoteIp);
  const peer = peerOf(remoteIp);
  if (opts.ipHeader) {
    const value = headers[opts.ipHeader];
    if (value && trust(peer, 0)) {
      const ip = stripPort(value.trim());
      if (net.isIP(ip)) return normalizeIp(ip);
    }
  }
  const xff = headers['x-forwarded-for'];
  if (!xff) return peer;
  const found = stripPort(proxyaddr({ headers: { 'x-forwarded-for': xff }, connection: { remoteAddress: peer } } as never, trust));
  return net.isIP(found) ? normalizeIp(found) : peer;
}

const peerOf = (remoteIp: string | (() => string)) => normalizeIp(typeof remoteIp === 'string' ? remoteIp : remoteIp());

/**
 * Behind `hops` trusted proxies (`TRUST_PROXY=1`: the usual reverse proxy), the client as the
 * headers name it, or undefined when they do not (the peer is then the client): the IP header
 * a trusted proxy sets, else the X-Forwarded-For entry `hops` from the right, or the left-most
 * one there is — proxy-addr's answer under a hop count, read straight from the header without
 * its arrays, request object and trust walk. The peer is trusted by its hop alone, so it is
 * not needed.
 */
function behindHops(headers: Record<string, string | undefined>, ipHeader: string | undefined, hops: number): string | undefined {
  if (ipHeader) {
    const value = headers[ipHeader];
    if (value) {
      const ip = stripPort(value.trim());
      if (net.isIP(ip)) return normalizeIp(ip);
    }
  }
  const xff = headers['x-forwarded-for'];
  const picked = xff ? fromRight(xff, hops) : undefined;
  if (picked === undefined) return undefined;
  const found = stripPort(picked);
  return net.isIP(found) ? normalizeIp(found) : undefined;
}

/**
 * The `k`-th entry of an X-Forwarded-For header counted from the right (1: the last), or the
 * left-most when it has fewer; undefined when it has none. Entries are split as the
 * `forwarded` package (proxy-addr's) splits them: on commas, with the spaces around an entry
 * dropped and empty entries skipped.
 */
export function fromRight(header: string, k: number): string | undefined {
  let end = header.length;
  let start = end;
  let found = 0;
  let entry: string | undefined;
  for (let i = header.length - 1; i >= 0; i--) {
    const c = header.charCodeAt(i);
    if (c === 0x20) {
      if (start === end) start = end = i;
    } else if (c === 0x2c) {
      if (start !== end) {
        entry = header.substring(start, end);
        if (++found === k) return entry;
      }
      start = end = i;
    } else start = i;
  }
  return start !== end ? header.substring(start, end) : entry;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; uWS gives IPv4 peers in mapped form. */
export function normalizeIp(ip: string): string {
  if (ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7))) return ip.slice(7);
  if (ip.startsWith('0000:0000:0000:0000:0000:ffff:')) {
    const hex = ip.slice(30).split(':');
    if (hex.length === 2) {
      const a = Number.parseInt(hex[0]!, 16);
      const b = Number.parseInt(hex[1]!, 16);
      return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
    }
  }
  return ip;
}

function stripPort(s: string): string {
  if (s.startsWith('[')) return s.slice(1, s.indexOf(']'));
  const m = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(s);
  return m ? m[1]! : s;
}
