import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cookielessDeviceId, DEVICE_ID_HEX_LENGTH } from './device-id.ts';

const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15';

describe('cookielessDeviceId', () => {
  it('is the first 32 hex characters of HMAC-SHA256(salt, project⏎ua⏎ip)', () => {
    const id = cookielessDeviceId('salt-2025-01-15', 'proj-1', UA, '8.8.8.8');
    const expected = createHmac('sha256', 'salt-2025-01-15').update(`proj-1\n${UA}\n8.8.8.8`).digest('hex').slice(0, 32);
    expect(id).toBe(expected);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(DEVICE_ID_HEX_LENGTH).toBe(32);
  });

  it('is stable for one device and salt, and differs by salt, project, agent and IP', () => {
    const base = cookielessDeviceId('s1', 'p1', UA, '8.8.8.8');
    expect(cookielessDeviceId('s1', 'p1', UA, '8.8.8.8')).toBe(base);
    const others = [
      cookielessDeviceId('s2', 'p1', UA, '8.8.8.8'),
      cookielessDeviceId('s1', 'p2', UA, '8.8.8.8'),
      cookielessDeviceId('s1', 'p1', `${UA} Edg/131`, '8.8.8.8'),
      cookielessDeviceId('s1', 'p1', UA, '8.8.4.4'),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('keeps fields apart: moving characters between project and agent changes the id', () => {
    expect(cookielessDeviceId('s', 'ab', 'c', '1.1.1.1')).not.toBe(cookielessDeviceId('s', 'a', 'bc', '1.1.1.1'));
  });

  it('gives an IPv4 address and its IPv4-mapped IPv6 form one id', () => {
    expect(cookielessDeviceId('s', 'p', UA, '::ffff:8.8.8.8')).toBe(cookielessDeviceId('s', 'p', UA, '8.8.8.8'));
  });

  it('refuses an empty salt', () => {
    expect(() => cookielessDeviceId('', 'p', UA, '8.8.8.8')).toThrow(/salt/);
  });
});
