/**
 * Geo step: country, region, city and coordinates from the event's effective IP (the
 * request's, or a secret caller's `__ip`). The IP itself is never written anywhere.
 * A server-side event that did not forward its visitor's IP keeps empty geo columns: the
 * place of the customer's backend says nothing about anyone. Runs after the user-agent step
 * (which decides server-side) and after bots (no lookups for crawlers).
 */
import type { Geoip } from '../geoip.ts';
import type { Step } from '../types.ts';

/** The geo step over an opened database (`openGeoip`). */
export function createGeoStep(deps: { geoip: Pick<Geoip, 'lookup'> }): Step {
  return {
    name: 'geo',
    run(d) {
      if (d.serverSide && d.ip === d.request.ip) return d;
      const loc = deps.geoip.lookup(d.ip);
      if (loc) {
        d.row.country = loc.country;
        d.row.region = loc.region;
        d.row.city = loc.city;
        d.row.latitude = loc.latitude;
        d.row.longitude = loc.longitude;
      }
      return d;
    },
  };
}
