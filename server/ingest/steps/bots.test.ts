import { describe, expect, it } from 'vitest';
import { newDraft } from '../draft.ts';
import type { Draft } from '../types.ts';
import { botsStep } from './bots.ts';
import { normalizeStep } from './normalize.ts';

const UA = {
  chrome: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotMobile:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.139 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  bingbot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  facebook: 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
  gptbot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
  headless: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
};

function draft(userAgent: string, viaSecret: boolean, properties: Record<string, unknown> = {}): Draft {
  const d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret },
    { ip: '8.8.8.8', userAgent, origin: '', sdkName: 'web', sdkVersion: '1', receivedAt: 0 },
    { type: 'track', payload: { name: 'screen_view', properties } },
  );
  return normalizeStep.run(d) as Draft;
}

describe('bots step', () => {
  it.each(
    Object.entries({
      googlebot: UA.googlebot,
      googlebotMobile: UA.googlebotMobile,
      bingbot: UA.bingbot,
      facebook: UA.facebook,
      gptbot: UA.gptbot,
      headless: UA.headless,
      curl: 'curl/8.4.0',
      python: 'python-requests/2.31.0',
    }),
  )('drops %s from a browser client', (_, ua) => {
    expect(botsStep.run(draft(ua, false))).toEqual({ dropped: 'bot' });
  });

  it('lets real browsers through', () => {
    for (const ua of [UA.chrome, UA.iphone, '']) expect(botsStep.run(draft(ua, false))).toHaveProperty('row');
  });

  it('does not check a secret caller’s own agent: server SDKs are not bots', () => {
    for (const ua of ['node/1.0', 'openpanel-node/1.3.1', 'Go-http-client/1.1', '']) {
      expect(botsStep.run(draft(ua, true))).toHaveProperty('row');
      // the same agent from a public client id is a script
      if (ua) expect(botsStep.run(draft(ua, false))).toEqual({ dropped: 'bot' });
    }
  });

  it('checks a visitor agent a secret caller forwards with __userAgent', () => {
    expect(botsStep.run(draft('node/1.0', true, { __userAgent: UA.googlebot }))).toEqual({ dropped: 'bot' });
    expect(botsStep.run(draft('node/1.0', true, { __userAgent: UA.iphone }))).toHaveProperty('row');
  });
});
