/**
 * SDK benchmark (`npm run bench:sdk [-- --events N --latency N --offline N]`):
 *
 * 1. Sizes of every SDK build (raw, gzip -9, brotli 11), the `/lp.js` script tag first.
 * 2. Events per second one page can push: a Chromium page with the script tag tracks as fast
 *    as its queue lets it (it keeps under the 1,000-event cap, so nothing is dropped) until
 *    `--events` are acknowledged by a Livepanel running in this process (embedded shape).
 * 3. `track()` → ack latency on loopback, one event at a time: as an app sees it (the 50 ms
 *    batching window included) and with `flush()` right after `track()` (the protocol alone).
 * 4. Memory of a page that tracked `--offline` events while Livepanel was unreachable: JS heap
 *    after GC against the same page having tracked nothing (the ratio shows the queue cap at
 *    work), with the queue and drop counters.
 *
 * Results print and are saved to bench/results/sdk-<time>.json.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { sizes } from '../sdk/scripts/sizes.ts';
import { launchDesktopChromium, startStaticSite } from '../tests/support/browser.ts';
import { startTestServer } from '../tests/support/livepanel.ts';
import { scriptTagPage } from '../tests/support/sdk-pages.ts';
import { percentile, ROOT, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    latency: { type: 'string', default: '300' },
    offline: { type: 'string', default: '100000' },
  },
});
const EVENTS = Number(args.events);
const LATENCY = Number(args.latency);
const OFFLINE = Number(args.offline);

// 1. Sizes.
execFileSync(process.execPath, ['--import', 'tsx', 'sdk/scripts/build.ts'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
const built = sizes();
console.log('\nSDK builds (bytes)');
for (const s of built)
  console.log(`  ${s.file.padEnd(32)} raw ${String(s.raw).padStart(7)}  gzip ${String(s.gzip).padStart(6)}  brotli ${String(s.brotli).padStart(6)}`);

const lp = await startTestServer();
const site = await startStaticSite();
const browser = await launchDesktopChromium();
const project = await lp.createProject('bench', site.origin);
site.page('/', scriptTagPage({ scriptSrc: `${lp.url}/lp.js`, clientId: project.clientId, title: 'Bench', attributes: 'data-heartbeat="false"' }));
site.page(
  '/offline',
  scriptTagPage({ scriptSrc: `${lp.url}/lp.js`, clientId: project.clientId, title: 'Offline', attributes: 'data-api-url="http://127.0.0.1:9"' }),
);

interface PageGlobals {
  lp: ((...a: unknown[]) => unknown) & { q?: unknown };
  __ack?: (t: number) => void;
}

/** A page with the script loaded, whose socket reports every ack frame's arrival. */
async function open(path: string): Promise<Page> {
  const page = await browser.newPage();
  // tsx compiles this file keeping function names (`__name(fn, …)`), also inside the functions sent to the page.
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.addInitScript(() => {
    const g = globalThis as unknown as PageGlobals & { WebSocket: typeof WebSocket };
    const Base = g.WebSocket;
    g.WebSocket = class extends Base {
      constructor(url: string | URL, protocols?: ConstructorParameters<typeof WebSocket>[1]) {
        super(url, protocols);
        this.addEventListener('message', (e) => {
          if (typeof e.data === 'string' && e.data.startsWith('{"type":"ack"')) g.__ack?.(performance.now());
        });
      }
    };
  });
  await page.goto(`${site.origin}${path}`);
  await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).lp.q);
  return page;
}

const results: Record<string, unknown> = { sizes: built };
try {
  // 2. Throughput.
  const page = await open('/');
  await page.evaluate(() => (globalThis as unknown as PageGlobals).lp('flush'));
  const push = await page.evaluate(async (n) => {
    const { lp } = globalThis as unknown as PageGlobals;
    const stats = () => lp('stats') as { queued: number; dropped: number };
    const t0 = performance.now();
    let sent = 0;
    while (sent < n) {
      if (stats().queued < 800) {
        for (let i = 0; i < 100 && sent < n; i++) lp('track', 'bench', { i: sent++ });
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    await (lp('flush') as Promise<void>);
    const seconds = (performance.now() - t0) / 1000;
    return { events: n, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(n / seconds), dropped: stats().dropped };
  }, EVENTS);
  results.push = push;
  console.log(`\nOne page pushing: ${push.perSecond} events/s acknowledged (${push.events} in ${push.seconds} s, ${push.dropped} dropped)`);

  // 3. Latency.
  const latency = await page.evaluate(async (n) => {
    const g = globalThis as unknown as PageGlobals;
    const measure = async (flush: boolean) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const acked = new Promise<number>((r) => (g.__ack = r));
        const t0 = performance.now();
        g.lp('track', 'latency', { i, flush });
        if (flush) g.lp('flush');
        out.push((await acked) - t0);
      }
      return out.sort((a, b) => a - b);
    };
    return { batched: await measure(false), flushed: await measure(true) };
  }, LATENCY);
  const ms = (x: number) => Math.round(x * 10) / 10;
  results.latency = {
    samples: LATENCY,
    batched: { p50: ms(percentile(latency.batched, 50)), p99: ms(percentile(latency.batched, 99)) },
    flushed: { p50: ms(percentile(latency.flushed, 50)), p99: ms(percentile(latency.flushed, 99)) },
  };
  console.log(`track() → ack, batched (50 ms window): p50 ${ms(percentile(latency.batched, 50))} ms, p99 ${ms(percentile(latency.batched, 99))} ms`);
  console.log(`track() + flush() → ack:                p50 ${ms(percentile(latency.flushed, 50))} ms, p99 ${ms(percentile(latency.flushed, 99))} ms`);
  await page.close();

  // 4. Memory while Livepanel is unreachable.
  const heap = async (p: Page) => {
    const cdp = await p.context().newCDPSession(p);
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };
  const idle = await open('/offline');
  const baseline = await heap(idle);
  const busy = await open('/offline');
  const offline = await busy.evaluate(async (n) => {
    const { lp } = globalThis as unknown as PageGlobals;
    for (let i = 0; i < n; i++) {
      lp('track', 'offline', { i, path: '/some/page', label: 'a typical property value' });
      if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
    }
    await new Promise((r) => setTimeout(r, 300)); // the debounced save
    const storage = (globalThis as unknown as { localStorage: { getItem(k: string): string | null } & Record<string, unknown> }).localStorage;
    const saved = Object.keys(storage)
      .filter((k) => k.startsWith('lp_q'))
      .reduce((sum, k) => sum + (storage.getItem(k)?.length ?? 0), 0);
    return { stats: lp('stats') as { queued: number; dropped: number }, savedChars: saved };
  }, OFFLINE);
  const used = await heap(busy);
  results.offline = {
    tracked: OFFLINE,
    queued: offline.stats.queued,
    dropped: offline.stats.dropped,
    localStorageChars: offline.savedChars,
    heapBytes: used,
    baselineHeapBytes: baseline,
    heapRatio: Math.round((used / baseline) * 100) / 100,
  };
  console.log(
    `${OFFLINE} events tracked while down: ${offline.stats.queued} kept, ${offline.stats.dropped} dropped; JS heap ${(used / 2 ** 20).toFixed(1)} MB vs ${(baseline / 2 ** 20).toFixed(1)} MB idle (×${(used / baseline).toFixed(2)}); localStorage ${Math.round(offline.savedChars / 1024)} K chars`,
  );
} finally {
  await browser.close();
  await site.close();
  await lp.destroy();
}
console.log(`\nsaved ${saveResults('sdk', results)}`);
