/**
 * @livepanel/vue: `app.use(Livepanel, { apiUrl, clientId, router })` once, then
 * `useLivepanel()` in any component (or `this.$livepanel`). With a Vue Router, every
 * navigation is one `screen_view`, counted after the new route rendered (its title set).
 * Safe in server rendering: nothing starts on the server.
 */
import { init, type LivepanelWeb, type WebOptions } from '@livepanel/web';
import { type App, type InjectionKey, inject, nextTick } from 'vue';

export type { EventBody, IdentifyPayload, Properties, WebOptions } from '@livepanel/web';
export { LivepanelWeb } from '@livepanel/web';

/** The part of a Vue Router the page views need (`router.afterEach`). */
export interface RouterLike {
  afterEach(guard: (to: unknown, from: unknown, failure?: unknown) => unknown): () => void;
}

export interface LivepanelPluginOptions extends WebOptions {
  /** Your Vue Router: one page view per successful navigation. */
  router?: RouterLike;
}

export const LIVEPANEL: InjectionKey<LivepanelWeb | undefined> = Symbol('livepanel');

/** Counts a page view after each successful navigation of `router`. Returns the unsubscribe function. */
export function trackRouter(client: Pick<LivepanelWeb, 'screenView'>, router: RouterLike): () => void {
  return router.afterEach((_to, _from, failure) => {
    if (!failure) nextTick().then(() => client.screenView());
  });
}

export const Livepanel = {
  install(app: App, { router, ...options }: LivepanelPluginOptions): void {
    const client = typeof window === 'undefined' ? undefined : init(options);
    app.provide(LIVEPANEL, client);
    app.config.globalProperties.$livepanel = client;
    if (client && router) trackRouter(client, router);
  },
};

/** The app's Livepanel client (undefined while server-rendering). */
export function useLivepanel(): LivepanelWeb | undefined {
  return inject(LIVEPANEL, undefined);
}

declare module 'vue' {
  interface ComponentCustomProperties {
    $livepanel: LivepanelWeb | undefined;
  }
}
