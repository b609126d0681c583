/**
 * React Router page views: `<LivepanelPageViews />` inside your `<BrowserRouter>` (or a data
 * router's root layout) counts one `screen_view` per location, back/forward included.
 */
import { useLocation } from 'react-router';
import { usePageView } from './index.tsx';

export function LivepanelPageViews(): null {
  const { pathname, search, hash } = useLocation();
  usePageView(pathname + search + hash);
  return null;
}
