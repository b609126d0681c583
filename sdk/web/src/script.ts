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
type Stub = ((...args: Call) => void) & { q?: IArguments[] };

const w = window as unknown as { lp?: Stub };
const tag = document.currentScript as HTMLScriptElement | null;
const queued = w.lp?.q ?? [];
let client: LivepanelWeb | undefined;
const waiting: Call[] = [];

const lp = (...[method, ...args]: Call): unknown => {
  if (method === 'init') {
    client ??= new LivepanelWeb({ apiUrl: tag ? new URL(tag.src).origin : location.origin, ...(args[0] as { clientId: string }) });
    for (const c of waiting.splice(0)) lp(...c);
    return;
  }
  if (!client) return void waiting.push([method, ...args]);
  return (client as unknown as Record<string, ((...a: unknown[]) => unknown) | undefined>)[method]?.(...args);
};
w.lp = lp;

const data = tag?.dataset ?? {};
if (data.clientId) {
  // data-x="false" turns an option off; a bare data-x (or any other value) is the value itself, or true.
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) options[k] = v === 'false' ? false : v || true;
  lp('init', options);
}
// Calls queued before an init made through the stub wait for it, in order.
for (const c of queued) lp(...(c as Iterable<unknown> as Call));
