/** In-process rate limits for the embedded shape (rate-limiter-flexible's RateLimiterMemory). */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { flexibleOptions, type RateLimits, rateLimits } from './rate-limit.ts';

export function createMemoryRateLimits(): RateLimits {
  return rateLimits((rule) => new RateLimiterMemory({ ...flexibleOptions(rule), keyPrefix: rule.name }));
}
