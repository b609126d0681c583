import { describe, expect, it } from 'vitest';
import { parseOrigins } from './project.ts';
import { roleAtLeast, safeNext } from './session.ts';

describe('session helpers', () => {
  it('after sign-in, only returns to paths of this app', () => {
    expect(safeNext('/projects/abc/realtime?tv=1')).toBe('/projects/abc/realtime?tv=1');
    expect(safeNext('//evil.example/x')).toBeNull();
    expect(safeNext('/\\evil.example')).toBeNull();
    expect(safeNext('https://evil.example/')).toBeNull();
    expect(safeNext(null)).toBeNull();
  });

  it('orders roles owner > admin > member > viewer', () => {
    expect(roleAtLeast('owner', 'admin')).toBe(true);
    expect(roleAtLeast('member', 'admin')).toBe(false);
    expect(roleAtLeast('viewer', 'viewer')).toBe(true);
    expect(roleAtLeast(undefined, 'viewer')).toBe(false);
  });

  it('reads allowed origins one per line or comma-separated', () => {
    expect(parseOrigins(' shop.example\n\n*.cdn.example, localhost:3000 ')).toEqual(['shop.example', '*.cdn.example', 'localhost:3000']);
  });
});
