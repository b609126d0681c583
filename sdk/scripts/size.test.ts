/**
 * The script tag's size is a feature: sockets, HTTP fallback, persistence and auto-tracking
 * within 3.3 KB gzipped (what OpenPanel's HTTP-only tracker weighs). Sizes are deterministic
 * (same sources, same bytes), so this is an exact budget, not a timing.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildScript } from './script-build.ts';
import { measure } from './sizes.ts';

describe('the /lp.js script tag', () => {
  it('stays within 3.3 KB gzipped', async () => {
    const size = measure(await buildScript());
    expect(size.gzip).toBeLessThanOrEqual(Math.floor(3.3 * 1024));
  });

  it('carries no zod and no server code', async () => {
    const code = (await import('node:fs')).readFileSync(await buildScript(), 'utf8');
    expect(code).not.toMatch(/zod|ZodError|uWebSockets/);
    expect(gzipSync(code).length).toBeGreaterThan(1000);
  });
});
