import { describe, expect, it } from 'vitest';
import { newDraft } from '../draft.ts';
import type { Draft } from '../types.ts';
import { normalizeStep } from './normalize.ts';
import { urlStep } from './url.ts';
import { parseUtm, utmStep } from './utm.ts';

function page(path: string): Draft {
  const d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret: false },
    { ip: '8.8.8.8', userAgent: '', origin: '', sdkName: 'web', sdkVersion: '1', receivedAt: 0 },
    { type: 'track', payload: { name: 'screen_view', properties: { __path: path } } },
  );
  return normalizeStep.run(d) as Draft;
}

describe('utm step', () => {
  it('reads all five campaign fields from the page URL', () => {
    const d = utmStep.run(
      page('https://shop.example/sale?utm_source=newsletter&utm_medium=email&utm_campaign=spring+sale&utm_term=running%20shoes&utm_content=hero-banner'),
    ) as Draft;
    expect(d.row).toMatchObject({
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'spring sale',
      utm_term: 'running shoes',
      utm_content: 'hero-banner',
    });
  });

  it('must run before the url step, which drops the query', () => {
    const right = urlStep.run(utmStep.run(page('https://example.com/?utm_source=google')) as Draft) as Draft;
    expect(right.row.utm_source).toBe('google');
    const wrong = utmStep.run(urlStep.run(page('https://example.com/?utm_source=google')) as Draft) as Draft;
    expect(wrong.row.utm_source).toBe('');
  });

  it('uses ref for a missing utm_source, never over one', () => {
    expect(parseUtm('https://example.com/?ref=producthunt')).toEqual({ utm_source: 'producthunt' });
    expect(parseUtm('https://example.com/?ref=producthunt&utm_source=twitter')).toEqual({ utm_source: 'twitter' });
  });

  it('reads hash-router queries, the real query winning', () => {
    expect(parseUtm('https://app.example/#/signup?utm_source=bing&utm_medium=cpc')).toEqual({ utm_source: 'bing', utm_medium: 'cpc' });
    expect(parseUtm('https://app.example/?utm_source=a#/x?utm_source=b&utm_campaign=c')).toEqual({ utm_source: 'a', utm_campaign: 'c' });
    expect(parseUtm('https://example.com/page#utm_source=anchor')).toEqual({});
  });

  it('ignores empty values and cuts long ones', () => {
    expect(parseUtm('/landing?utm_source=&utm_medium=%20')).toEqual({});
    expect(parseUtm(`/x?utm_campaign=${'c'.repeat(400)}`).utm_campaign).toHaveLength(256);
  });
});
