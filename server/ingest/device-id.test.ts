import { createHmac } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

  it('answers from its cache exactly as computed, across salts, projects, agents and IPs', () => {
    const hmac = (salt: string, p: string, ua: string, ip: string) => createHmac('sha256', salt).update(`${p}\n${ua}\n${ip}`).digest('hex').slice(0, 32);
    // Twice over: the second round is answered from the cache (a key mixing up two inputs would
    // answer another device's id).
    for (let round = 0; round < 2; round++) {
      for (const salt of ['s1', 's2']) {
        for (const p of ['p1', 'p2']) {
          for (const ua of [UA, `${UA} Edg/131`, '1', '12']) {
            for (const ip of ['8.8.8.8', '8.8.4.4', '1.1.1.1']) {
              expect(cookielessDeviceId(salt, p, ua, ip)).toBe(hmac(salt, p, ua, ip));
            }
          }
        }
      }
    }
  });

  // Guards the numbering: a number given again after the agents' table is dropped would make a
  // new agent's key equal to a cached one, answering another device's id.
  it('keeps answering correctly once more user agents passed than its table of them holds', () => {
    const hmac = (ua: string) => createHmac('sha256', 's').update(`p\n${ua}\n9.9.9.9`).digest('hex').slice(0, 32);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) expect(cookielessDeviceId('s', 'p', `agent-${i}`, '9.9.9.9')).toBe(hmac(`agent-${i}`));
    }
  });

  // Guards the cache's keys: each request brings its own copy of its user agent, and a key made
  // with it kept that copy: ≈ 370 B an entry, ≈ 7 MB at 20,000 entries.
  it("does not keep each request's copy of its user agent in the cache's keys", () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const ips = Array.from({ length: 20_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const parts = UA.split(' ');
    gc();
    const before = process.memoryUsage().heapUsed;
    for (const ip of ips) cookielessDeviceId('salt-held', 'proj-held', parts.join(' '), ip); // a new agent string per call
    gc();
    const held = (process.memoryUsage().heapUsed - before) / ips.length;
    expect(held).toBeLessThan(300); // ≈ 240 B; ≈ 370 B with the agent in the key
  });
});
