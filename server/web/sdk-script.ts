/**
 * The browser SDK's script tag (`/lp.js`), read into memory once at start from the SDK build
 * (`sdk/web/dist/lp.js`, made by `npm run build:sdk`, or by `npm start`/`npm test` when stale)
 * with its gzip and brotli twins. Two names for the same bytes:
 *
 * - `/lp.js`: what the one-tag install points at; cached for 5 minutes (`ETag` revalidates), so
 *   a Livepanel upgrade reaches every site within minutes.
 * - `/lp.<hash>.js`: content-addressed (the first 10 hex characters of its SHA-256), cached
 *   forever (`immutable`); for sites that pin a version or use Subresource Integrity.
 *
 * No sockets here: script.uws.ts sends what this answers.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Where the SDK build writes the script tag. */
export const DEFAULT_SCRIPT_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'sdk', 'web', 'dist', 'lp.js');

const SHORT_CACHE = 'public, max-age=300';
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface ScriptResponse {
  status: 200 | 304 | 404 | 503;
  body: Buffer | string;
  headers: Record<string, string>;
}

export interface SdkScript {
  /** `lp.<hash>.js`, or undefined when there is no build. */
  readonly hashedName?: string;
  /** The answer for a GET of `/lp.js` or `/lp.<hash>.js`. */
  get(name: string, req: { 'accept-encoding'?: string; 'if-none-match'?: string }): ScriptResponse;
}

export function scriptHash(code: Uint8Array): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 10);
}

export function loadSdkScript(file = DEFAULT_SCRIPT_PATH): SdkScript {
  // Any page may load it (it is public code), including pages that require CORP/CORS for subresources.
  const common = {
    'content-type': 'text/javascript; charset=utf-8',
    'access-control-allow-origin': '*',
    'cross-origin-resource-policy': 'cross-origin',
    'x-content-type-options': 'nosniff',
  };
  if (!existsSync(file)) {
    return {
      get: () => ({
        status: 503,
        body: '/* Livepanel: the browser SDK is not built. Run `npm run build:sdk` on the server. */',
        headers: { ...common, 'cache-control': 'no-store' },
      }),
    };
  }
  const body = readFileSync(file);
  const hash = scriptHash(body);
  const gzip = gzipSync(body, { level: 9 });
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  const etag = `"${hash}"`;
  const hashedName = `lp.${hash}.js`;
  return {
    hashedName,
    get(name, req) {
      if (name !== 'lp.js' && name !== hashedName) return { status: 404, body: '/* no such script */', headers: { ...common, 'cache-control': 'no-store' } };
      const headers: Record<string, string> = { ...common, 'cache-control': name === 'lp.js' ? SHORT_CACHE : IMMUTABLE, etag, vary: 'Accept-Encoding' };
      if (req['if-none-match'] === etag) return { status: 304, body: '', headers };
      const accept = req['accept-encoding'] ?? '';
      if (/\bbr\b/.test(accept)) return { status: 200, body: br, headers: { ...headers, 'content-encoding': 'br' } };
      if (/\bgzip\b/.test(accept)) return { status: 200, body: gzip, headers: { ...headers, 'content-encoding': 'gzip' } };
      return { status: 200, body, headers };
    },
  };
}
