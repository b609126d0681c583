// Thin load: the project's stored read client (or back to sign-in), and the TV flag.
import { redirect } from '@sveltejs/kit';
import { readCredentials } from '$lib/credentials.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ params, url }) => {
  const credentials = readCredentials(params.projectId);
  if (!credentials) {
    const back = new URLSearchParams({ project: params.projectId, next: url.pathname + url.search });
    redirect(307, `/?${back}`);
  }
  return { credentials, tv: url.searchParams.get('tv') === '1' };
};
