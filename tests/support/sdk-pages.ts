/**
 * Pages and probes for the Livepanel SDK browser tests: the one-tag install page (`/lp.js`
 * with `data-client-id` and the `window.lp` queue stub), a live-channel watcher for presence
 * (socket.io, as a dashboard sees it), and polling of stored rows.
 */
import type { Browser } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { expect } from 'vitest';
import type { EventRow } from '../../shared/rows.ts';
import type { StaticSite } from './browser.ts';
import { reader, waitUntil } from './e2e.ts';
import type { ServerProcess } from './process.ts';

export type Project = { projectId: string; clientId: string; clientSecret: string };

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

/**
 * Presence of one project as dashboards get it: the latest `online` (distinct visitors with an
 * open SDK socket) and `sockets` (open SDK sockets) pushed over the live channel.
 */
export async function watchPresence(url: string, auth: { clientId: string; clientSecret: string; projectId: string }) {
  let online = -1;
  let sockets = -1;
  const socket: Socket = io(url, { auth, transports: ['websocket'], reconnectionDelay: 200 });
  socket.on('presence', (p: { projectId: string; online: number; sockets?: number }) => {
    if (p.projectId !== auth.projectId) return;
    online = p.online;
    sockets = p.sockets ?? -1;
  });
  // Deadlines sized for a loaded machine.
  await waitUntil(() => online >= 0, 30_000);
  return {
    online: () => online,
    /** Waits (generously) until `online` is `n` and, if given, `sockets` is `openSockets`. */
    waitFor: (n: number, openSockets?: number, timeoutMs = 60_000) =>
      waitUntil(() => online === n && (openSockets === undefined || sockets === openSockets), timeoutMs).catch(() => {
        throw new Error(
          `presence stayed online ${online}, sockets ${sockets}; expected online ${n}${openSockets === undefined ? '' : `, sockets ${openSockets}`}`,
        );
      }),
    close: () => socket.close(),
  };
}

/** Polls until `done(rows)` holds, then returns the rows (oldest first). */
export async function waitForRows(events: () => Promise<EventRow[]>, done: (rows: EventRow[]) => boolean, timeoutMs = 90_000): Promise<EventRow[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await events()).slice().reverse();
    if (done(rows)) return rows;
    if (Date.now() > until) throw new Error(`timed out waiting for stored events; have ${rows.length}: ${rows.map((r) => r.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A page that tracks every 100 ms (slow enough that a restart's backlog stays under the SDK's
 * 1,000-event queue, which would otherwise drop the oldest) while `server` is SIGKILLed and
 * restarted; then every event must be stored exactly once.
 */
export async function killMidSession(
  { browser, site }: { browser: Browser; site: StaticSite },
  server: ServerProcess,
  project: Project,
  path: string,
): Promise<void> {
  site.page(path, scriptTagPage({ scriptSrc: '/lp.js', clientId: project.clientId, title: 'Kill', attributes: `data-api-url="${server.base}"` }));
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${site.origin}${path}`);
    await tab.evaluate(() => {
      const g = globalThis as unknown as {
        lp: (...a: unknown[]) => void;
        n: number;
        stop: () => void;
        setInterval: typeof setInterval;
        clearInterval: typeof clearInterval;
      };
      g.n = 0;
      const t = g.setInterval(() => g.lp('track', 'tick', { n: g.n++ }), 100);
      g.stop = () => g.clearInterval(t);
    });
    const count = () => tab.evaluate(() => (globalThis as unknown as { n: number }).n);
    await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(50);
    await server.kill();
    const atKill = await count();
    await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(atKill + 30);
    await server.start();
    const afterRestart = await count();
    await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(afterRestart + 50);
    await tab.evaluate(() => (globalThis as unknown as { stop: () => void }).stop());
    const sent = await count();

    const read = reader(server.base, project.projectId, project);
    await expect.poll(() => read.count('tick'), { timeout: 90_000, interval: 500 }).toBeGreaterThanOrEqual(sent);
    expect(sent).toBeLessThan(990); // all of them fit one page of the read API
    const rows = (await read.events(1000)).filter((r) => r.name === 'tick');
    const seen = new Map<number, number>();
    for (const r of rows) seen.set(Number(r.properties.n), (seen.get(Number(r.properties.n)) ?? 0) + 1);
    const missing = Array.from({ length: sent }, (_, n) => n).filter((n) => !seen.has(n));
    const twice = [...seen].filter(([, c]) => c > 1).map(([n]) => n);
    expect({ missing, twice, stored: rows.length }).toEqual({ missing: [], twice: [], stored: sent });
  } finally {
    await context.close();
  }
}
