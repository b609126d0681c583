// A SvelteKit app using @livepanel/svelte. Run it with `npx vite dev` from this folder (see README).
export default { kit: {} };
