// Signed-in pages read their credentials from sessionStorage, which exists only in the
// browser: render them there (the server sends the app shell).
export const ssr = false;
