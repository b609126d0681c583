// Share pages render in the browser: the token is read from the path, the grant (password) from this browser's storage.
export const ssr = false;
