/**
 * The client's IP for enrichment. Proxy headers are believed only when TRUST_PROXY is set
 * (otherwise anyone could claim any address); the first header present in IP_HEADERS order
 * wins, and for `x-forwarded-for` the left-most entry is the client.
 */
import net from 'node:net';

export interface ClientIpOptions {
  trustProxy: boolean;
  ipHeaders: string[];
}

export function clientIp(remoteIp: string, headers: Record<string, string | undefined>, opts: ClientIpOptions): string {
  if (opts.trustProxy) {
    for (const name of opts.ipHeaders) {
      const value = headers[name];
      if (!value) continue;
      const first = value.split(',')[0]!.trim();
      const ip = stripPort(first);
      if (net.isIP(ip)) return ip;
    }
  }
  return normalizeIp(remoteIp);
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
