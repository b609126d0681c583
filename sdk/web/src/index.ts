/**
 * @livepanel/web: Livepanel for the browser. `init()` once, then `track()`, `identify()`…
 * from anywhere; the same build is served as the `/lp.js` script tag (see script.ts).
 */
import { LivepanelWeb, type WebOptions } from './web.ts';

export type { EventBody, GroupPayload, IdentifyPayload, Properties, TransportStats } from '@livepanel/core';
export { LivepanelWeb, type WebOptions } from './web.ts';

let instance: LivepanelWeb | undefined;

/** Starts Livepanel on this page; a second call returns the first client. */
export function init(options: WebOptions): LivepanelWeb {
  instance ??= new LivepanelWeb(options);
  return instance;
}

/** The client made by `init()`, if any. */
export const getClient = (): LivepanelWeb | undefined => instance;
