import { describe, expect, it } from 'vitest';
import { clientIp, normalizeIp } from './client-ip.ts';

const opts = { trustProxy: true, ipHeaders: ['openpanel-client-ip', 'cf-connecting-ip', 'x-forwarded-for'] };

describe('clientIp', () => {
  it('ignores proxy headers unless TRUST_PROXY is set (spoofing guard)', () => {
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '8.8.8.8' }, { ...opts, trustProxy: false })).toBe('10.0.0.1');
  });
  it('takes the first configured header present, left-most forwarded entry', () => {
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '8.8.8.8, 10.0.0.2' }, opts)).toBe('8.8.8.8');
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '1.1.1.1', 'cf-connecting-ip': '9.9.9.9' }, opts)).toBe('9.9.9.9');
  });
  it('skips garbage header values and strips ports', () => {
    expect(clientIp('10.0.0.1', { 'openpanel-client-ip': 'nope', 'x-forwarded-for': '8.8.4.4:5555' }, opts)).toBe('8.8.4.4');
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '[2001:4860:4860::8888]:443' }, opts)).toBe('2001:4860:4860::8888');
  });
  it('unmaps IPv4-mapped IPv6 peers', () => {
    expect(normalizeIp('::ffff:8.8.8.8')).toBe('8.8.8.8');
    expect(normalizeIp('0000:0000:0000:0000:0000:ffff:0808:0808')).toBe('8.8.8.8');
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8::1');
  });
});
