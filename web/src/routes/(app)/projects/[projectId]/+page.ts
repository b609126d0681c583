// A project's address opens its overview.
import { redirect } from '@sveltejs/kit';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ params, url }) => {
  redirect(307, `/projects/${encodeURIComponent(params.projectId)}/overview${url.search}`);
};
