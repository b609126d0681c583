// Thin load: the TV flag (the project layout has checked the sign-in).
import type { PageLoad } from './$types';

export const load: PageLoad = ({ url }) => ({ tv: url.searchParams.get('tv') === '1' });
