// Signed-in pages: who is signed in (or off to sign-in, coming back here after). Rendered in
// the browser (the server sends the app shell); the API answers with the session cookie.
import { redirect } from '@sveltejs/kit';
import { loadMe } from '$lib/session.ts';
import type { LayoutLoad } from './$types';

export const ssr = false;

export const load: LayoutLoad = async ({ fetch, url }) => {
  const me = await loadMe(fetch);
  if (!me) redirect(307, `/sign-in?${new URLSearchParams({ next: url.pathname + url.search })}`);
  return { me };
};
