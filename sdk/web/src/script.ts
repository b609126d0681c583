/**
 * The `/lp.js` script tag: `<script async src="https://HOST/lp.js" data-client-id="…">`.
 * Options come from the tag's `data-*` attributes (`data-track-outgoing-links="false"` →
 * `trackOutgoingLinks: false`); `apiUrl` defaults to the script's own origin. Calls made
 * before it loaded were kept by the stub `window.lp = window.lp || function () {
 * (lp.q = lp.q || []).push(arguments) }` and run now, in order; `lp('init', {...})` works
 * instead of the attributes.
 */
import { LivepanelWeb } from './web.ts';

type Call = [string, ...unknown[]];
type Stub = ((...args: Call) => void) & { q?: ArrayLike<unknown>[] };

const w = window as unknown as { lp?: Stub };
const tag = document.currentScript as HTMLScriptElement | null;
const queued = [...(w.lp?.q ?? [])].map((a) => Array.from(a) as Call);
let client: LivepanelWeb | undefined;
const waiting: Call[] = [];

const lp = (...[method, ...args]: Call): unknown => {
  if (method === 'init') {
    client ??= new LivepanelWeb({ apiUrl: tag ? new URL(tag.src).origin : location.origin, ...(args[0] as { clientId: string }) });
    for (const c of waiting.splice(0)) lp(...c);
    return;
  }
  if (!client) return void waiting.push([method, ...args]);
  const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
  return typeof fn === 'function' ? fn.apply(client, args) : undefined;
};
w.lp = lp;

const data = tag?.dataset ?? {};
if (data.clientId) {
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) options[k] = v === 'false' ? false : v === 'true' || v === '' ? true : v;
  lp('init', options);
}
// An init made through the stub goes first, whatever its place in the queue.
for (const c of queued.filter((c) => c[0] === 'init')) lp(...c);
for (const c of queued.filter((c) => c[0] !== 'init')) lp(...c);
