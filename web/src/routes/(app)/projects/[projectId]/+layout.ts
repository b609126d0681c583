// Thin load for every page of a project: its stored read client, or back to sign-in.
import { redirect } from '@sveltejs/kit';
import { readCredentials } from '$lib/credentials.ts';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = ({ params, url }) => {
  const credentials = readCredentials(params.projectId);
  if (!credentials) {
    const back = new URLSearchParams({ project: params.projectId, next: url.pathname + url.search });
    redirect(307, `/?${back}`);
  }
  return { credentials };
};
