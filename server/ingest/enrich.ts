/**
 * The enrichment steps in the order they run. Order matters: normalize consumes the magic
 * properties the others read; bots drops early so crawlers cost little; utm reads the query
 * string before url drops it; referrer compares against the page origin url produced;
 * device-id needs the final IP and user agent. The session step runs after dedupe (a resend
 * must not touch sessions), so the ingest service calls it separately.
 */
import type { Geoip } from './geoip.ts';
import type { SaltSource } from './salts.ts';
import { botsStep } from './steps/bots.ts';
import { createDeviceIdStep } from './steps/device-id.ts';
import { createGeoStep } from './steps/geo.ts';
import { normalizeStep } from './steps/normalize.ts';
import { createReferrerStep } from './steps/referrer.ts';
import { timestampStep } from './steps/timestamp.ts';
import { createUrlStep } from './steps/url.ts';
import { createUserAgentStep } from './steps/user-agent.ts';
import { utmStep } from './steps/utm.ts';
import type { Step } from './types.ts';

/** `sessionTimeoutMs`: how long after UTC midnight yesterday's device id is still worked out (steps/device-id.ts). */
export function createEnrichSteps(deps: { geoip: Pick<Geoip, 'lookup'>; salts: SaltSource; sessionTimeoutMs?: number }): Step[] {
  return [
    normalizeStep,
    timestampStep,
    botsStep,
    utmStep,
    createUrlStep(),
    createReferrerStep(),
    createUserAgentStep(),
    createGeoStep({ geoip: deps.geoip }),
    createDeviceIdStep({ salts: deps.salts, previousWithinMs: deps.sessionTimeoutMs }),
  ];
}
