/**
 * Browser `Origin` checks against a client's allowed origins, and the normal form those
 * entries are stored in. Matching ignores the scheme and a leading `www.` on both sides;
 * a port only matters when the allowed entry names one; `*.example.com` covers the domain
 * and all its subdomains; `*` allows everything.
 */

interface OriginParts {
  /** lower-cased host without a leading `www.`, IPv6 in brackets */
  host: string;
  /** explicit port, else the scheme's default (80/443), else undefined */
  port: string | undefined;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' };

/** Splits `scheme://host:port/path` (scheme and path optional) into host and port. */
function splitOrigin(input: string): OriginParts & { explicitPort: boolean } {
  let rest = input.trim().toLowerCase();
  const scheme = SCHEME.exec(rest)?.[1];
  if (scheme) rest = rest.slice(scheme.length + 3);
  rest = rest.split(/[/?#]/, 1)[0] ?? '';
  let host = rest;
  let port: string | undefined;
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(rest);
  if (m) {
    host = m[1] ?? '';
    port = m[2] || undefined;
  }
  const explicitPort = port !== undefined;
  if (!explicitPort && scheme) port = DEFAULT_PORTS[scheme];
  if (host.startsWith('www.')) host = host.slice(4);
  return { host, port, explicitPort };
}

/** True when the browser origin `origin` is covered by one of the `allowed` entries. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return false;
  const o = splitOrigin(origin);
  for (const entry of allowed) {
    if (entry.trim() === '*') return true;
    const a = splitOrigin(entry);
    if (a.explicitPort && a.port !== o.port) continue;
    if (a.host.startsWith('*.')) {
      const base = a.host.slice(2);
      if (base && (o.host === base || o.host.endsWith(`.${base}`))) return true;
    } else if (a.host !== '' && a.host === o.host) {
      return true;
    }
  }
  return false;
}

/**
 * The stored form of an allowed-origin entry, or null when `input` is not one: lower-case
 * punycode host, no scheme, no leading `www.`, no path, the port kept only if given.
 * `https://www.x.com/` → `x.com`, `*.X.com` → `*.x.com`, `http://localhost:3000` →
 * `localhost:3000`, `*` → `*`.
 */
export function normalizeOrigin(input: string): string | null {
  const trimmed = input.trim();
  if (trimmed === '*') return '*';
  if (trimmed === '' || /\s|@/.test(trimmed)) return null;
  const { host, port, explicitPort } = splitOrigin(trimmed);
  const wildcard = host.startsWith('*.');
  const bare = wildcard ? host.slice(2) : host;
  if (bare === '' || bare.includes('*')) return null;
  if (explicitPort && (port === undefined || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    return null;
  }
  let hostname: string;
  try {
    hostname = new URL(`http://${bare}`).hostname;
  } catch {
    return null;
  }
  if (hostname === '' || hostname.endsWith('.')) return null;
  if (hostname.startsWith('www.')) hostname = hostname.slice(4);
  return `${wildcard ? '*.' : ''}${hostname}${explicitPort ? `:${Number(port)}` : ''}`;
}
