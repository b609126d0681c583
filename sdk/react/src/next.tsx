'use client';
/**
 * Next.js App Router page views: render `<LivepanelPageViews />` inside `<LivepanelProvider>`
 * in your root layout (a client component; wrap it in `<Suspense>` because it reads the
 * search params). One `screen_view` per pathname + query.
 */
import { usePathname, useSearchParams } from 'next/navigation';
import { usePageView } from './index.tsx';

export function LivepanelPageViews(): null {
  const pathname = usePathname();
  const search = useSearchParams()?.toString();
  usePageView(search ? `${pathname}?${search}` : pathname);
  return null;
}
