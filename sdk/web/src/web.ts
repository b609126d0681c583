/**
 * Livepanel in the browser: the shared client plus page views (load, History API and hash
 * navigation), outgoing link clicks, `data-track` attributes, the page lifecycle (a hidden
 * or closing page — browsers fire `visibilitychange` to hidden before `pagehide`, also when
 * navigating away — saves its queue and sends what is pending with keepalive; a visible one
 * heartbeats so its session stays open and it counts as online) and Global Privacy Control.
 */
import { Livepanel, type LivepanelOptions, type Properties } from '@livepanel/core';
import { browserPlatform } from './platform.ts';

export interface WebOptions extends LivepanelOptions {
  /** `screen_view` on load and on every navigation to a new URL (History API, back/forward, `#hash`). Default true. */
  trackScreenViews?: boolean;
  /** `link_out` (`href`, `text`) for clicks on links to other hosts. Default true. */
  trackOutgoingLinks?: boolean;
  /** Clicks on elements with `data-track="name"` track `name` with their other `data-*` attributes. Default true. */
  trackAttributes?: boolean;
  /** Heartbeat while the page is visible: the session stays open while it is read, and the visitor counts as online. Default true. */
  heartbeat?: boolean;
  /** Start disabled when the browser sends Global Privacy Control (`navigator.globalPrivacyControl`); `optIn()` overrides. */
  respectGpc?: boolean;
}

export class LivepanelWeb extends Livepanel {
  private _last?: string;
  /** The pending page view's timer; 0 once it fired. */
  private _timer?: ReturnType<typeof setTimeout> | 0;

  constructor(web: WebOptions) {
    super(
      {
        ...web,
        globalProperties: { __referrer: document.referrer || undefined, ...web.globalProperties },
        disabled: web.disabled || (web.respectGpc && (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl),
      },
      browserPlatform(),
    );
    const on = (target: EventTarget, type: string, fn: (e: Event) => void) => target.addEventListener(type, fn, true);
    const lifecycle = () => {
      const visible = document.visibilityState === 'visible';
      if (!visible) {
        // A page left within its page view's title wait still counts the view (a quick bounce);
        // should the page live on, the timer's own call finds the URL already tracked.
        if (this._timer) this.screenView();
        this.t.unload();
      }
      this.t.setActive(visible && web.heartbeat !== false);
    };
    on(document, 'visibilitychange', lifecycle);
    on(window, 'online', () => this.t.connect());
    lifecycle();

    if (web.trackScreenViews !== false) {
      // Routers change the URL with pushState/replaceState; a page view waits 50 ms for the new title.
      const nav = () => {
        clearTimeout(this._timer);
        this._timer = setTimeout(() => {
          this._timer = 0;
          this.screenView();
        }, 50);
      };
      for (const m of ['pushState', 'replaceState'] as const) {
        const orig = history[m];
        history[m] = function (this: History, ...args: Parameters<History['pushState']>) {
          orig.apply(this, args);
          nav();
        };
      }
      on(window, 'popstate', nav);
      on(window, 'hashchange', nav);
      // The first one waits too: single-page apps set the title in their first render.
      nav();
    }
    on(document, 'click', (e) => {
      const el = e.target as Element;
      const a = el.closest?.('a');
      const tracked = el.closest?.<HTMLElement>('[data-track]');
      if (tracked && web.trackAttributes !== false) {
        // dataset camel-cases the other data-* attributes: data-plan-name="pro" → planName.
        const { track, ...props } = tracked.dataset;
        this.track(track!, props);
      }
      if (a && web.trackOutgoingLinks !== false && a.host !== location.host && /^http/.test(a.href)) {
        this.track('link_out', { href: a.href, text: a.textContent || a.title });
      }
    });
  }

  /** Tracks a page view of the current URL (or `path`), once per URL. Called by itself unless `trackScreenViews` is false. */
  screenView(path?: string, properties?: Properties): void {
    const href = path ?? location.href;
    if (href === this._last) return;
    this._last = href;
    this.track('screen_view', { ...properties, __path: href, __title: document.title });
  }

  override track(name: string, properties?: Properties): void {
    super.track(name, { __path: location.href, ...properties });
  }
}
