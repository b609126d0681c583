import { describe, expect, it } from 'vitest';
import { credentialKey, levelAtLeast, levelOfClient, levelOfRole, roleAtLeast } from './principal.ts';
import { newToken, tokenShape } from './tokens.ts';

describe('scopes', () => {
  it('roles map to project levels: owners and admins manage, members write, viewers read', () => {
    expect(['owner', 'admin', 'member', 'viewer'].map((r) => levelOfRole(r as 'owner'))).toEqual(['admin', 'admin', 'write', 'read']);
    expect(levelAtLeast('write', 'read')).toBe(true);
    expect(levelAtLeast('read', 'write')).toBe(false);
    expect(levelAtLeast('admin', 'admin')).toBe(true);
    expect(roleAtLeast('admin', 'owner')).toBe(false);
    expect(roleAtLeast('owner', 'viewer')).toBe(true);
  });

  it('API clients read their project with a read or root client; write clients only ingest', () => {
    expect(levelOfClient('read')).toBe('read');
    expect(levelOfClient('root')).toBe('read');
    expect(levelOfClient('write')).toBeNull();
  });

  it('names each credential kind the way revocations do', () => {
    expect(credentialKey({ kind: 'client', clientId: 'c1', projectId: 'p', clientType: 'read', viaSecret: true })).toBe('client:c1');
    expect(credentialKey({ kind: 'share', shareId: 's1', projectId: 'p', target: { kind: 'realtime' }, filter: null, expiresAt: null })).toBe('share-token:s1');
    expect(credentialKey({ kind: 'user', userId: 'u', email: 'e', sessionId: 'x1', sessionToken: 't', sessionExpiresAt: new Date() })).toBe('user-session:x1');
  });

  it('tokens have a fixed, checkable shape per kind', () => {
    const t = newToken('lpsh');
    expect(tokenShape('lpsh', t)).toBe(true);
    expect(tokenShape('lps', t)).toBe(false);
    expect(tokenShape('lpsh', `${t}x`)).toBe(false);
    expect(tokenShape('lpsh', undefined)).toBe(false);
    expect(tokenShape('lpsh', 'lpsh_../../etc/passwd'.padEnd(49, 'a'))).toBe(false);
  });
});
