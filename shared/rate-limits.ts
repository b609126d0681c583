/**
 * Rate limit settings as people write them — in the environment (`RATE_LIMIT_*`), in a
 * project's overrides (stored as JSON on the project, set with `npm run admin --
 * set-rate-limits`) and in answers: `"<points>/<duration>"` such as `1000/10s`, `600/1m` or
 * `50000/1h`, or `off` for no limit. Durations are whole seconds (the Redis store counts in
 * seconds).
 */
import { z } from 'zod';

/** A parsed limit: `points` per `seconds`, or null for no limit. */
export type RateSpec = { points: number; seconds: number } | null;

const UNIT = { s: 1, m: 60, h: 3600 } as const;

/** Parses `"1000/10s"` (units s, m, h; a bare number is seconds) or `"off"`; throws RangeError otherwise. */
export function parseRateSpec(text: string): RateSpec {
  const t = text.trim().toLowerCase();
  if (t === 'off') return null;
  const m = /^(\d+)\s*\/\s*(\d*)\s*([smh]?)$/.exec(t);
  const points = m ? Number(m[1]) : Number.NaN;
  const seconds = m ? (m[2] === '' ? 1 : Number(m[2])) * UNIT[(m[3] || 's') as keyof typeof UNIT] : Number.NaN;
  if (!Number.isSafeInteger(points) || points < 1 || !Number.isSafeInteger(seconds) || seconds < 1 || seconds > 86_400) {
    throw new RangeError(`${JSON.stringify(text)} is not a rate limit: write <points>/<duration> such as 1000/10s, 600/1m, 50000/1h, or off`);
  }
  return { points, seconds };
}

/** Formats a limit the way `parseRateSpec` reads it. */
export function formatRateSpec(spec: RateSpec): string {
  if (!spec) return 'off';
  const { points, seconds } = spec;
  if (seconds % 3600 === 0) return `${points}/${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${points}/${seconds / 60}m`;
  return `${points}/${seconds}s`;
}

/** A limit as a zod string: validated with `parseRateSpec`, kept as written. */
export const RateSpecText = z
  .string()
  .max(40)
  .refine(
    (s) => {
      try {
        parseRateSpec(s);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'write <points>/<duration> such as 1000/10s, 600/1m, 50000/1h, or off' },
  );

/**
 * The limits a project may override (the rest — per-IP connection and failed-login limits —
 * apply before anyone knows the project). Names are the README's and the CLI's.
 */
export const PROJECT_RATE_LIMITS = [
  /** Events per visitor IP, for browser (origin-authorised) clients. */
  'browser-events',
  /** Events per client, for secret-authorised (server) clients. */
  'server-events',
  /** Frames per browser `/ws` socket. */
  'socket-frames',
  /** Frames per secret-authorised `/ws` socket. */
  'server-socket-frames',
  /** Read API requests per client. */
  'read',
] as const;
export type ProjectRateLimitName = (typeof PROJECT_RATE_LIMITS)[number];

/** A project's overrides, as stored: only the limits it changes. */
export const ProjectRateLimits = z.partialRecord(z.enum(PROJECT_RATE_LIMITS), RateSpecText);
export type ProjectRateLimits = z.infer<typeof ProjectRateLimits>;
