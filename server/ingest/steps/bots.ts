/**
 * Bots step: drops events whose visitor user agent is a crawler, preview fetcher, headless
 * browser or script (isbot's list), with `{dropped: 'bot'}` — the client is told it was
 * received and nothing is stored.
 *
 * Server SDKs are not bots. isbot flags every bare `name/version` agent (`node/1.0`,
 * `python-requests/2.31`), which is exactly what a server SDK sends, so the check is skipped
 * when the caller proved its client secret AND the agent is the request's own (the server's).
 * When a secret caller forwards a visitor's agent with `__userAgent` (a proxy, SSR), that agent
 * is the visitor's and is checked like any browser's. Browser and socket clients authenticate
 * by client id and Origin only, so their agent is always checked: a script replaying a public
 * client id is exactly what this step is for.
 */
import { isbot } from 'isbot';
import { createRecentMap } from '../../engines/recent-map.ts';
import type { Draft, Step } from '../types.ts';

/** True when the draft's user agent should go through the bot check (see module header). */
export function checksForBots(d: Draft): boolean {
  return !(d.caller.viaSecret && d.userAgent === d.request.userAgent);
}

// isbot runs one large regular expression (≈ 3 % of ingest CPU uncached); a visitor sends
// many events with one user agent. At most 10,000 agents held, in two generations.
const verdicts = createRecentMap<string, boolean>(5_000);
function isBotAgent(ua: string): boolean {
  let v = verdicts.get(ua);
  if (v === undefined) {
    v = isbot(ua);
    verdicts.add(ua, v);
  }
  return v;
}

/** The bots step; runs after normalize (which applies `__userAgent`) and before any lookup. */
export const botsStep: Step = {
  name: 'bots',
  run(d) {
    return checksForBots(d) && isBotAgent(d.userAgent) ? { dropped: 'bot' } : d;
  },
};
