/**
 * @livepanel/svelte: Livepanel for Svelte 5 and SvelteKit.
 *
 *   // src/routes/+layout.svelte
 *   import { afterNavigate } from '$app/navigation';
 *   import { initLivepanel, trackPageViews } from '@livepanel/svelte';
 *   const lp = initLivepanel({ apiUrl, clientId });   // in the browser only; sets the context
 *   trackPageViews(afterNavigate);                     // one screen_view per navigation
 *
 * `getLivepanel()` in any child component; `livepanelStatus()` is a readable store of the
 * connection (`connected`, `queued`, `dropped`) for a status badge.
 */
import { init, type LivepanelWeb, type TransportStats, type WebOptions } from '@livepanel/web';
import { getContext, setContext } from 'svelte';
import { type Readable, readable } from 'svelte/store';

export type { EventBody, IdentifyPayload, Properties, WebOptions } from '@livepanel/web';
export { LivepanelWeb } from '@livepanel/web';

const KEY = Symbol('livepanel');
const browser = typeof window !== 'undefined';

/** Starts Livepanel (once per page) and puts it in the component context; undefined on the server. Call during component init. */
export function initLivepanel(options: WebOptions): LivepanelWeb | undefined {
  const client = browser ? init(options) : undefined;
  setContext(KEY, client);
  return client;
}

/** The client set by `initLivepanel` in an ancestor component. */
export function getLivepanel(): LivepanelWeb | undefined {
  return getContext<LivepanelWeb | undefined>(KEY);
}

/**
 * One `screen_view` per navigation, through SvelteKit's `afterNavigate` (passed in, so this
 * package works outside SvelteKit too). Call during component init, after `initLivepanel`.
 */
export function trackPageViews(afterNavigate: (fn: () => void) => void, client = getLivepanel()): void {
  if (client) afterNavigate(() => client.screenView());
}

/** A store of the client's connection state, refreshed every `everyMs` while subscribed. */
export function livepanelStatus(client = getLivepanel(), everyMs = 1000): Readable<TransportStats | undefined> {
  return readable(client?.stats(), (set) => {
    if (!client) return;
    const t = setInterval(() => set(client.stats()), everyMs);
    return () => clearInterval(t);
  });
}
