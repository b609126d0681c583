/**
 * Pages and probes for the Livepanel SDK browser tests: the one-tag install page (`/lp.js`
 * with `data-client-id` and the `window.lp` queue stub), a live-channel watcher for presence
 * (socket.io, as a dashboard sees it), and polling of stored rows.
 */
import { io, type Socket } from 'socket.io-client';
import type { EventRow } from '../../shared/rows.ts';
import { waitUntil } from './e2e.ts';

export interface ScriptTagPage {
  /** Where the script comes from (`${livepanel}/lp.js` for the one-tag install). */
  scriptSrc: string;
  clientId: string;
  title: string;
  /** Extra `data-*` attributes on the script tag, e.g. `data-api-url="…"`. */
  attributes?: string;
  /** Calls made through the stub before the script loads (JavaScript source). */
  early?: string;
  body?: string;
}

/** The install snippet exactly as README and the install page show it. */
export function scriptTagPage(p: ScriptTagPage): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${p.title}</title>
<script>
  window.lp = window.lp || function () { (lp.q = lp.q || []).push(arguments) };
  ${p.early ?? ''}
</script>
<script async src="${p.scriptSrc}" data-client-id="${p.clientId}" ${p.attributes ?? ''}></script>
</head>
<body>
${p.body ?? ''}
</body>
</html>
`;
}

/** Presence of one project as dashboards get it: the latest `online` pushed over the live channel. */
export async function watchPresence(url: string, auth: { clientId: string; clientSecret: string; projectId: string }) {
  let online = -1;
  const socket: Socket = io(url, { auth, transports: ['websocket'], reconnectionDelay: 200 });
  socket.on('presence', (p: { projectId: string; online: number }) => {
    if (p.projectId === auth.projectId) online = p.online;
  });
  await waitUntil(() => online >= 0, 10_000);
  return {
    online: () => online,
    /** Waits (generously) until presence is `n`. */
    waitFor: (n: number, timeoutMs = 20_000) =>
      waitUntil(() => online === n, timeoutMs).catch(() => {
        throw new Error(`presence stayed ${online}, expected ${n}`);
      }),
    close: () => socket.close(),
  };
}

/** Polls until `done(rows)` holds, then returns the rows (oldest first). */
export async function waitForRows(events: () => Promise<EventRow[]>, done: (rows: EventRow[]) => boolean, timeoutMs = 30_000): Promise<EventRow[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await events()).slice().reverse();
    if (done(rows)) return rows;
    if (Date.now() > until) throw new Error(`timed out waiting for stored events; have ${rows.length}: ${rows.map((r) => r.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
