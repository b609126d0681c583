/**
 * Loads the dashboard's SvelteKit build (web/build/server, made by `npm run build:web` with
 * web/adapter.js): its `Server` class answers a Web `Request` with a `Response`. Only the
 * members used here are typed; the build is plain JavaScript.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The slice of SvelteKit's `Server` (`@sveltejs/kit`'s internal server) that Livepanel calls. */
interface KitServer {
  init(options: { env: Record<string, string> }): Promise<void>;
  respond(request: Request, options: { getClientAddress(): string }): Promise<Response>;
}
type KitServerClass = new (manifest: unknown) => KitServer;

export interface DashboardApp {
  respond(request: Request, clientAddress: string): Promise<Response>;
}

/** The build folder is not there (never built, or removed). */
export class BuildMissingError extends Error {}

/**
 * Imports `buildDir/server/{index,manifest}.js` and initialises the server with `env` (what
 * `$env/dynamic/*` sees in the app). Throws BuildMissingError when there is no build.
 */
export async function loadDashboardApp(buildDir: string, env: Record<string, string> = {}): Promise<DashboardApp> {
  const serverDir = path.join(buildDir, 'server');
  const entry = path.join(serverDir, 'index.js');
  const manifestFile = path.join(serverDir, 'manifest.js');
  if (!existsSync(entry) || !existsSync(manifestFile)) throw new BuildMissingError(`No dashboard build at ${buildDir}`);
  const { Server } = (await import(pathToFileURL(entry).href)) as { Server: KitServerClass };
  const { manifest } = (await import(pathToFileURL(manifestFile).href)) as { manifest: unknown };
  if (typeof Server !== 'function' || !manifest) throw new Error(`${entry} does not export SvelteKit's Server and manifest (rebuild with npm run build:web)`);
  const server = new Server(manifest);
  await server.init({ env });
  return { respond: (request, clientAddress) => server.respond(request, { getClientAddress: () => clientAddress }) };
}
