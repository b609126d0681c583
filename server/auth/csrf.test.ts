import { describe, expect, it } from 'vitest';
import { CSRF_HEADER, checkCsrf, csrfToken } from './csrf.ts';

const OWN = 'https://panel.example.com';
const token = 'lps_session-token';
const code = (fn: () => void) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return `${(e as { status: number }).status} ${(e as { code: string }).code}`;
  }
};

describe('CSRF checks', () => {
  it('lets reads through without any header', () => {
    expect(code(() => checkCsrf({ method: 'GET', headers: {}, ownOrigins: [OWN], sessionToken: token }))).toBe('ok');
    expect(code(() => checkCsrf({ method: 'HEAD', headers: { origin: 'https://evil.example' }, ownOrigins: [OWN], sessionToken: token }))).toBe('ok');
  });

  it('needs the own origin and the session’s token on a change', () => {
    const good = { origin: OWN, [CSRF_HEADER]: csrfToken(token) };
    expect(code(() => checkCsrf({ method: 'POST', headers: good, ownOrigins: [OWN], sessionToken: token }))).toBe('ok');
    expect(code(() => checkCsrf({ method: 'DELETE', headers: { ...good, origin: 'https://evil.example' }, ownOrigins: [OWN], sessionToken: token }))).toBe(
      '403 csrf_failed',
    );
    expect(code(() => checkCsrf({ method: 'POST', headers: { origin: OWN }, ownOrigins: [OWN], sessionToken: token }))).toBe('403 csrf_failed');
    expect(
      code(() => checkCsrf({ method: 'PATCH', headers: { origin: OWN, [CSRF_HEADER]: csrfToken('lps_other') }, ownOrigins: [OWN], sessionToken: token })),
    ).toBe('403 csrf_failed');
    // no Origin and no Referer: refused (browsers send Origin on every cross-origin and same-origin POST)
    expect(code(() => checkCsrf({ method: 'POST', headers: { [CSRF_HEADER]: csrfToken(token) }, ownOrigins: [OWN], sessionToken: token }))).toBe(
      '403 csrf_failed',
    );
  });

  it('accepts the request’s own Host as an origin, and a same-origin Referer without Origin', () => {
    const headers = { host: 'localhost:3000', origin: 'http://localhost:3000', [CSRF_HEADER]: csrfToken(token) };
    expect(code(() => checkCsrf({ method: 'POST', headers, ownOrigins: [], sessionToken: token }))).toBe('ok');
    const viaReferer = { host: 'localhost:3000', referer: 'http://localhost:3000/setup', [CSRF_HEADER]: csrfToken(token) };
    expect(code(() => checkCsrf({ method: 'POST', headers: viaReferer, ownOrigins: [], sessionToken: token }))).toBe('ok');
  });

  it('sign-in and setup (no session yet) still need the own origin', () => {
    expect(code(() => checkCsrf({ method: 'POST', headers: { origin: OWN }, ownOrigins: [OWN] }))).toBe('ok');
    expect(code(() => checkCsrf({ method: 'POST', headers: { origin: 'https://evil.example' }, ownOrigins: [OWN] }))).toBe('403 csrf_failed');
  });

  it('derives a different token per session, and not the session token itself', () => {
    expect(csrfToken('lps_a')).not.toBe(csrfToken('lps_b'));
    expect(csrfToken(token)).not.toContain(token);
  });
});
