import { newDraft } from './server/ingest/draft.ts';
import { openGeoip } from './server/ingest/geoip.ts';
import { botsStep } from './server/ingest/steps/bots.ts';
import { createDeviceIdStep } from './server/ingest/steps/device-id.ts';
import { createGeoStep } from './server/ingest/steps/geo.ts';
import { normalizeStep } from './server/ingest/steps/normalize.ts';
import { createReferrerStep } from './server/ingest/steps/referrer.ts';
import { timestampStep } from './server/ingest/steps/timestamp.ts';
import { urlStep } from './server/ingest/steps/url.ts';
import { createUserAgentStep } from './server/ingest/steps/user-agent.ts';
import { utmStep } from './server/ingest/steps/utm.ts';
import type { Draft, Step } from './server/ingest/types.ts';

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
];
const REFS = ['https://www.google.com/search?q=x', 'https://l.facebook.com/l.php?u=x', 'https://someblog.dev/post/1', '', 'https://example.com/prev'];
const N = 50_000;
const geoip = await openGeoip();
const steps: Step[] = [normalizeStep, timestampStep, botsStep, createUserAgentStep(), createGeoStep({ geoip }), utmStep, urlStep, createReferrerStep(), createDeviceIdStep({ salts: { salts: () => ({ current: 'a'.repeat(32), previous: 'b'.repeat(32) }) } })];
const ipMode = process.argv[2] ?? 'distinct';
function make(i: number): Draft {
  const ip = ipMode === 'distinct' ? `${(i % 200) + 11}.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}` : `${(i % 50) + 11}.20.30.40`;
  return newDraft(
    { projectId: 'p1', clientId: 'c', clientType: 'write', viaSecret: false },
    { ip, userAgent: UAS[i % UAS.length]!, origin: 'https://example.com', sdkName: 'web', sdkVersion: '1.4.1', receivedAt: Date.now() },
    { type: 'track', payload: { name: 'screen_view', properties: { __path: `https://example.com/p/${i % 100}?utm_source=newsletter&utm_medium=email&utm_campaign=c${i % 7}`, __referrer: REFS[i % REFS.length], __title: 'Page', plan: 'pro', cart: { items: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }], total: 42.5 }, flags: [true, false] } } },
  );
}
for (let round = 0; round < 2; round++) {
  let drafts = Array.from({ length: N }, (_, i) => make(i + round * N));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) make(i);
  const out: string[] = [`newDraft ${(((performance.now() - t0) * 1000) / N).toFixed(2)} µs`];
  let total = 0;
  for (const s of steps) {
    const t = performance.now();
    const next: Draft[] = [];
    for (const d of drafts) { const r = s.run(d) as Draft; if ('row' in r) next.push(r); }
    const us = ((performance.now() - t) * 1000) / drafts.length;
    total += us;
    out.push(`${s.name} ${us.toFixed(2)} µs`);
    drafts = next;
  }
  out.push(`total ${total.toFixed(1)} µs/event (${drafts.length} survived)`);
  if (round === 1) console.log(ipMode, '|', out.join(' | '));
}
