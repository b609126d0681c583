// Thin load: which project, and the TV flag (the layout has checked the sign-in).
import type { PageLoad } from './$types';

export const load: PageLoad = ({ params, url }) => ({ projectId: params.projectId, tv: url.searchParams.get('tv') === '1' });
