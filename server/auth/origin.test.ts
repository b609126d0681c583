import { describe, expect, it } from 'vitest';
import { normalizeOrigin, originAllowed } from './origin.ts';

describe('originAllowed', () => {
  it('ignores the scheme and a leading www. on both sides', () => {
    expect(originAllowed('https://example.com', ['example.com'])).toBe(true);
    expect(originAllowed('http://www.example.com', ['example.com'])).toBe(true);
    expect(originAllowed('https://example.com', ['https://www.example.com/'])).toBe(true);
    expect(originAllowed('HTTPS://Example.COM', ['example.com'])).toBe(true);
  });

  it('rejects other hosts, including look-alike suffixes', () => {
    expect(originAllowed('https://evil.com', ['example.com'])).toBe(false);
    expect(originAllowed('https://notexample.com', ['example.com'])).toBe(false);
    expect(originAllowed('https://example.com.evil.com', ['example.com'])).toBe(false);
    // a plain entry does not cover subdomains
    expect(originAllowed('https://app.example.com', ['example.com'])).toBe(false);
  });

  it('respects a port only when the allowed entry has one', () => {
    expect(originAllowed('http://localhost:3000', ['localhost'])).toBe(true);
    expect(originAllowed('http://localhost:3000', ['localhost:3000'])).toBe(true);
    expect(originAllowed('http://localhost:5173', ['localhost:3000'])).toBe(false);
    expect(originAllowed('http://localhost', ['localhost:3000'])).toBe(false);
    // the scheme's default port counts as the origin's port
    expect(originAllowed('https://example.com', ['example.com:443'])).toBe(true);
    expect(originAllowed('http://example.com', ['example.com:443'])).toBe(false);
  });

  it('lets *.domain match the bare domain and any depth of subdomain, not look-alikes', () => {
    const allowed = ['*.example.com'];
    expect(originAllowed('https://example.com', allowed)).toBe(true);
    expect(originAllowed('https://www.example.com', allowed)).toBe(true);
    expect(originAllowed('https://a.b.example.com', allowed)).toBe(true);
    expect(originAllowed('https://badexample.com', allowed)).toBe(false);
    expect(originAllowed('https://example.com.evil.net', allowed)).toBe(false);
    expect(originAllowed('https://a.example.com:8080', ['*.example.com:8080'])).toBe(true);
    expect(originAllowed('https://a.example.com', ['*.example.com:8080'])).toBe(false);
  });

  it('lets * match anything, and an empty list match nothing', () => {
    expect(originAllowed('https://whatever.io', ['*'])).toBe(true);
    expect(originAllowed('null', ['*'])).toBe(true);
    expect(originAllowed('https://example.com', [])).toBe(false);
  });

  it('checks every entry of the list', () => {
    expect(originAllowed('https://b.dev', ['a.dev', 'b.dev'])).toBe(true);
    expect(originAllowed('null', ['a.dev', 'b.dev'])).toBe(false);
  });

  it('handles IPv4 and IPv6 origins', () => {
    expect(originAllowed('http://127.0.0.1:8080', ['127.0.0.1'])).toBe(true);
    expect(originAllowed('http://[::1]:8080', ['[::1]:8080'])).toBe(true);
    expect(originAllowed('http://[::1]:8081', ['[::1]:8080'])).toBe(false);
  });
});

describe('normalizeOrigin', () => {
  it.each([
    ['https://www.x.com/', 'x.com'],
    ['x.com', 'x.com'],
    ['X.Com', 'x.com'],
    ['*.x.com', '*.x.com'],
    ['https://*.X.com/', '*.x.com'],
    ['*', '*'],
    ['http://localhost:3000', 'localhost:3000'],
    ['https://x.com:443', 'x.com:443'],
    ['https://x.com/some/page?q=1#top', 'x.com'],
    ['  x.com  ', 'x.com'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['http://[::1]:3000', '[::1]:3000'],
    ['capacitor://localhost', 'localhost'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeOrigin(input)).toBe(expected);
  });

  it.each(['', '   ', 'https://', 'x.com:99999', 'x.com:0', 'x.com:abc', 'a b.com', 'user@x.com', '*.', '**.x.com', 'x.*.com', '*x.com'])(
    'rejects %j',
    (input) => {
      expect(normalizeOrigin(input)).toBeNull();
    },
  );

  it('produces entries that originAllowed matches', () => {
    const stored = ['https://www.shop.example/', '*.blog.example'].map((o) => normalizeOrigin(o) ?? '');
    expect(originAllowed('https://shop.example', stored)).toBe(true);
    expect(originAllowed('https://www.shop.example', stored)).toBe(true);
    expect(originAllowed('https://en.blog.example', stored)).toBe(true);
    expect(originAllowed('https://other.example', stored)).toBe(false);
  });
});
