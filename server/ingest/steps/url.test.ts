import { describe, expect, it } from 'vitest';
import { newDraft } from '../draft.ts';
import type { Draft } from '../types.ts';
import { normalizeStep } from './normalize.ts';
import { createUrlStep, splitUrl, urlStep } from './url.ts';
import { utmStep } from './utm.ts';

function page(path: string, step = urlStep): Draft {
  const d = newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret: false },
    { ip: '8.8.8.8', userAgent: '', origin: 'https://example.com', sdkName: 'web', sdkVersion: '1', receivedAt: 0 },
    { type: 'track', payload: { name: 'screen_view', properties: { __path: path } } },
  );
  return step.run(utmStep.run(normalizeStep.run(d) as Draft) as Draft) as Draft;
}

describe('url step', () => {
  it('splits a full URL into origin and pathname, dropping query and fragment', () => {
    const d = page('https://Example.com/pricing?utm_source=newsletter&plan=pro#faq');
    expect(d.row.origin).toBe('https://example.com');
    expect(d.row.path).toBe('/pricing');
  });

  it('keeps a non-default port and gives the bare origin the path "/"', () => {
    expect(splitUrl('http://localhost:5173')).toEqual({ origin: 'http://localhost:5173', path: '/' });
    expect(splitUrl('https://example.com:443/a/')).toEqual({ origin: 'https://example.com', path: '/a/' });
  });

  it('keeps hash routes (#/ and #!/) without their query, drops plain anchors', () => {
    expect(splitUrl('https://app.example.com/#/settings/billing?tab=2')).toEqual({ origin: 'https://app.example.com', path: '/#/settings/billing' });
    expect(splitUrl('https://app.example.com/app#!/inbox')).toEqual({ origin: 'https://app.example.com', path: '/app#!/inbox' });
    expect(splitUrl('https://example.com/docs#install')).toEqual({ origin: 'https://example.com', path: '/docs' });
  });

  it('decodes escapes except reserved characters', () => {
    expect(splitUrl('https://example.com/caf%C3%A9/men%C3%BC')?.path).toBe('/café/menü');
    expect(splitUrl('https://example.com/a%2Fb')?.path).toBe('/a%2Fb');
    expect(splitUrl('https://example.com/bad%E0%A4%A')?.path).toBe('/bad%E0%A4%A');
  });

  it('builds an origin for app schemes (Capacitor, Electron)', () => {
    expect(splitUrl('capacitor://localhost/home?x=1')).toEqual({ origin: 'capacitor://localhost', path: '/home' });
  });

  it('leaves screen names and plain paths as they are', () => {
    for (const p of ['Home', 'Settings/Profile', '/pricing', '/search?q=1']) {
      const d = page(p);
      expect(d.row.path).toBe(p);
      expect(d.row.origin).toBe('');
    }
  });

  it('answers from its cache exactly as without it, past the cache size and for URLs too long to cache', () => {
    const cached = createUrlStep({ cacheSize: 4 });
    const urls = [
      'https://example.com/a?x=1#f',
      'Home',
      'https://app.example.com/#/settings?tab=2',
      'capacitor://localhost/home',
      `https://example.com/${'l'.repeat(600)}`,
      ...Array.from({ length: 12 }, (_, i) => `https://example.com/p/${i}`),
    ];
    for (let round = 0; round < 3; round++) {
      for (const url of urls) {
        const a = page(url, cached).row;
        const b = page(url).row;
        expect([a.origin, a.path]).toEqual([b.origin, b.path]);
      }
    }
    expect(page('https://example.com/a?x=1#f', cached).row).toMatchObject({ origin: 'https://example.com', path: '/a' });
  });
});
