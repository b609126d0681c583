import { describe, expect, it } from 'vitest';
import { newDraft } from '../draft.ts';
import type { Draft } from '../types.ts';
import { normalizeStep } from './normalize.ts';
import { createReferrerStep, loadReferrerIndex } from './referrer.ts';
import { urlStep } from './url.ts';
import { utmStep } from './utm.ts';

const index = loadReferrerIndex();
const step = createReferrerStep({ index });

/** A page view through normalize → utm → url → referrer, as the pipeline runs them. */
function visit(path: string, referrer?: string, requestOrigin = ''): Draft['row'] {
  const properties: Record<string, unknown> = { __path: path };
  if (referrer !== undefined) properties.__referrer = referrer;
  let d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret: false },
    { ip: '8.8.8.8', userAgent: '', origin: requestOrigin, sdkName: 'web', sdkVersion: '1', receivedAt: 0 },
    { type: 'track', payload: { name: 'screen_view', properties } },
  );
  for (const s of [normalizeStep, utmStep, urlStep, step]) d = s.run(d) as Draft;
  return d.row;
}

describe('referrer index', () => {
  it('loads the bundled list (a package layout change must fail here)', () => {
    expect(index.size).toBeGreaterThan(2000);
    expect(index.byHost('www.google.com', '/search')).toEqual({ name: 'Google', type: 'search' });
  });

  it('matches country domains, subdomains and path prefixes', () => {
    expect(index.byHost('www.google.co.uk')).toEqual({ name: 'Google', type: 'search' });
    expect(index.byHost('www.bing.com', '/images/search')).toEqual({ name: 'Bing Images', type: 'search' });
    expect(index.byHost('m.youtube.com')).toEqual({ name: 'YouTube', type: 'social' });
    expect(index.byHost('vm.tiktok.com')).toEqual({ name: 'TikTok', type: 'social' });
    expect(index.byHost('blog.example.org')).toBeUndefined();
  });

  it('finds sources by campaign name, alias and host', () => {
    expect(index.byName('google')).toEqual({ name: 'Google', type: 'search' });
    expect(index.byName('Facebook')).toEqual({ name: 'Facebook', type: 'social' });
    expect(index.byName('fb')).toEqual({ name: 'Facebook', type: 'social' });
    expect(index.byName('news.ycombinator.com')).toEqual({ name: 'Hacker News', type: 'social' });
    expect(index.byName('spring-newsletter')).toBeUndefined();
  });
});

describe('referrer step', () => {
  it('names a Google search and strips the referrer’s query', () => {
    const row = visit('https://example.com/', 'https://www.google.com/search?q=livepanel+analytics');
    expect(row).toMatchObject({ referrer: 'https://www.google.com/search', referrer_name: 'Google', referrer_type: 'search' });
    expect(visit('https://example.com/', 'https://www.google.com/').referrer).toBe('https://www.google.com');
  });

  it('names Facebook’s link shim and the Gmail Android app', () => {
    expect(visit('https://example.com/a', 'https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fa&h=AT0')).toMatchObject({
      referrer: 'https://l.facebook.com/l.php',
      referrer_name: 'Facebook',
      referrer_type: 'social',
    });
    expect(visit('https://example.com/a', 'android-app://com.google.android.gm/')).toMatchObject({ referrer_name: 'Gmail', referrer_type: 'email' });
  });

  it('calls an unlisted site a link, named by its host', () => {
    expect(visit('https://example.com/', 'https://www.someblog.dev/posts/analytics?ref=1#c')).toMatchObject({
      referrer: 'https://www.someblog.dev/posts/analytics',
      referrer_name: 'someblog.dev',
      referrer_type: 'link',
    });
  });

  it('clears self-referrals, www. or not, by the page origin or the request Origin', () => {
    expect(visit('https://www.example.com/b', 'https://example.com/a')).toMatchObject({ referrer: '', referrer_name: '', referrer_type: '' });
    expect(visit('/b', 'https://example.com/a', 'https://example.com')).toMatchObject({ referrer: '', referrer_name: '' });
    expect(visit('https://example.com/b', 'https://shop.example.com/a').referrer_name).toBe('shop.example.com');
  });

  it('names a newsletter by utm_source when there is no referrer, typed by utm_medium', () => {
    expect(visit('https://example.com/?utm_source=weekly-digest&utm_medium=email&utm_campaign=42')).toMatchObject({
      referrer: '',
      referrer_name: 'weekly-digest',
      referrer_type: 'email',
    });
    expect(visit('https://example.com/?utm_source=facebook&utm_medium=cpc')).toMatchObject({ referrer_name: 'Facebook', referrer_type: 'paid' });
    expect(visit('https://example.com/?utm_source=google')).toMatchObject({ referrer_name: 'Google', referrer_type: 'search' });
    expect(visit('https://example.com/?ref=producthunt')).toMatchObject({ referrer_name: 'Product Hunt', referrer_type: 'social' });
    expect(visit('https://example.com/?utm_source=partner-x')).toMatchObject({ referrer_name: 'partner-x', referrer_type: 'unknown' });
  });

  it('lets the referrer win over utm_source, and utm_source name a self-referral', () => {
    expect(visit('https://example.com/?utm_source=newsletter', 'https://t.co/xyz')).toMatchObject({
      referrer_name: 'Twitter',
      referrer_type: 'social',
      utm_source: 'newsletter',
    });
    expect(visit('https://example.com/?utm_source=newsletter&utm_medium=email', 'https://example.com/')).toMatchObject({
      referrer: '',
      referrer_name: 'newsletter',
      referrer_type: 'email',
    });
  });

  it('turns an Android install referrer into campaign fields', () => {
    expect(visit('Home', 'utm_source=google-play&utm_medium=organic')).toMatchObject({
      referrer: '',
      utm_source: 'google-play',
      utm_medium: 'organic',
      referrer_name: 'google-play',
      referrer_type: 'search',
    });
  });

  it('is direct when there is neither referrer nor campaign', () => {
    expect(visit('https://example.com/')).toMatchObject({ referrer: '', referrer_name: '', referrer_type: '' });
    expect(visit('https://example.com/', 'not a url')).toMatchObject({ referrer: '', referrer_name: '', referrer_type: '' });
  });
});
