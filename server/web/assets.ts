/**
 * The dashboard's static files (web/build/client), read into memory once at start: a few
 * hundred kB of hashed bundles plus their precompressed `.br`/`.gz` twins. Answers "what to
 * send for this path and Accept-Encoding" — no sockets here (dashboard.uws.ts sends it).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};

/** Hashed file names never change content: cache them for a year. Everything else revalidates. */
const IMMUTABLE_PREFIX = '/_app/immutable/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface Asset {
  body: Buffer;
  br?: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

export interface AssetResponse {
  status: 200 | 304;
  body: Buffer;
  headers: Record<string, string>;
}

export interface Assets {
  /** Files loaded (not counting compressed twins). */
  readonly size: number;
  /** The answer for a GET of `urlPath`, or undefined when there is no such file. */
  get(urlPath: string, headers: { 'accept-encoding'?: string; 'if-none-match'?: string }): AssetResponse | undefined;
}

/** Loads every file under `clientDir` (a missing folder gives an empty set). */
export function loadAssets(clientDir: string): Assets {
  const files = new Map<string, Asset>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) {
        walk(full, `${prefix}${name}/`);
        continue;
      }
      if (name.endsWith('.br') || name.endsWith('.gz')) continue; // twins, read with their original
      const body = readFileSync(full);
      const urlPath = `${prefix}${name}`;
      const twin = (ext: string) => (existsSync(full + ext) ? readFileSync(full + ext) : undefined);
      files.set(urlPath, {
        body,
        br: twin('.br'),
        gzip: twin('.gz'),
        type: TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
        etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`,
        cacheControl: urlPath.startsWith(IMMUTABLE_PREFIX) ? IMMUTABLE : REVALIDATE,
      });
    }
  };
  if (existsSync(clientDir)) walk(clientDir, '/');

  return {
    size: files.size,
    get(urlPath, req) {
      let asset: Asset | undefined;
      try {
        asset = files.get(decodeURIComponent(urlPath));
      } catch {
        return undefined; // malformed %-escape
      }
      if (!asset) return undefined;
      const headers: Record<string, string> = { 'content-type': asset.type, 'cache-control': asset.cacheControl, etag: asset.etag };
      if (asset.br || asset.gzip) headers.vary = 'Accept-Encoding';
      if (req['if-none-match'] === asset.etag) return { status: 304, body: Buffer.alloc(0), headers };
      const accept = req['accept-encoding'] ?? '';
      if (asset.br && /\bbr\b/.test(accept)) return { status: 200, body: asset.br, headers: { ...headers, 'content-encoding': 'br' } };
      if (asset.gzip && /\bgzip\b/.test(accept)) return { status: 200, body: asset.gzip, headers: { ...headers, 'content-encoding': 'gzip' } };
      return { status: 200, body: asset.body, headers };
    },
  };
}
