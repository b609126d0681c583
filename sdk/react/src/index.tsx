/**
 * @livepanel/react: `<LivepanelProvider clientId=… apiUrl=…>` once at the root, then
 * `useLivepanel()` anywhere for `track`, `identify`, … . The browser SDK underneath already
 * counts page views on every History API navigation; `@livepanel/react/router` and
 * `@livepanel/react/next` add router-driven ones (a URL is counted once either way).
 * Safe in server rendering: nothing starts until the browser renders.
 */
import { init, type LivepanelWeb, type WebOptions } from '@livepanel/web';
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';

export type { EventBody, IdentifyPayload, Properties, WebOptions } from '@livepanel/web';
export { LivepanelWeb } from '@livepanel/web';

const Context = createContext<LivepanelWeb | undefined>(undefined);

export interface LivepanelProviderProps extends WebOptions {
  children?: ReactNode;
}

/** Starts Livepanel once, in the browser (one client per page, whatever re-renders). */
export function LivepanelProvider({ children, ...options }: LivepanelProviderProps) {
  const [client] = useState(() => (typeof window === 'undefined' ? undefined : init(options)));
  return <Context.Provider value={client}>{children}</Context.Provider>;
}

/** What `useLivepanel()` gives: the client's API, doing nothing while server-rendering. */
export type LivepanelApi = Pick<
  LivepanelWeb,
  | 'track'
  | 'identify'
  | 'increment'
  | 'decrement'
  | 'revenue'
  | 'group'
  | 'assignGroup'
  | 'setGlobalProperties'
  | 'reset'
  | 'flush'
  | 'shutdown'
  | 'optOut'
  | 'optIn'
  | 'screenView'
  | 'stats'
>;

const METHODS = [
  'track',
  'identify',
  'increment',
  'decrement',
  'revenue',
  'group',
  'assignGroup',
  'setGlobalProperties',
  'reset',
  'flush',
  'shutdown',
  'optOut',
  'optIn',
  'screenView',
  'stats',
] as const;

const offline = Object.fromEntries(
  METHODS.map((m) => [m, () => (m === 'flush' || m === 'shutdown' ? Promise.resolve() : undefined)]),
) as unknown as LivepanelApi;

/** The client of the nearest `<LivepanelProvider>`; throws outside one (a missing provider is a bug worth seeing). */
export function useLivepanel(): LivepanelApi {
  const client = useContext(Context);
  const [api] = useState(() => (client ? (Object.fromEntries(METHODS.map((m) => [m, client[m].bind(client)])) as unknown as LivepanelApi) : undefined));
  if (api) return api;
  if (typeof window !== 'undefined') throw new Error('useLivepanel() must be used inside <LivepanelProvider>');
  return offline;
}

/**
 * Counts a page view of the current address whenever `url` changes (the building block of the
 * router helpers). Runs after the render, when the router has updated the address bar and the
 * route's effects have set the title.
 */
export function usePageView(url: string): void {
  const lp = useLivepanel();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `url` is the trigger: the effect reads the address bar itself.
  useEffect(() => {
    lp.screenView();
  }, [url, lp]);
}
