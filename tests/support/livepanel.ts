/**
 * Starts a real Livepanel in the test process on a free port, with its own temporary data
 * folder (PGlite + chDB), or against a given PostgreSQL/Redis for the distributed shape.
 * Projects are created through the same admin route the CLI uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Running, startLivepanel } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { readDataLock } from '../../server/data-lock.ts';
import { silentLogger } from '../../server/log.ts';

export interface TestServer extends Running {
  dataDir: string;
  createProject(name?: string, domain?: string): Promise<{ projectId: string; clientId: string; clientSecret: string }>;
  createClient(projectId: string, type: 'write' | 'read' | 'root', origins?: string[]): Promise<{ clientId: string; clientSecret: string }>;
  /** Runs an admin command through the running server (as `npm run admin` does). */
  admin<T>(command: string, body: unknown): Promise<T>;
  /** Stops the server and removes its data folder. */
  destroy(): Promise<void>;
}

/** Starts a server on a new temporary data folder, or on `dataDir` (a folder a stopped test server left). */
export async function startTestServer(env: Record<string, string> = {}, dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-test-'))): Promise<TestServer> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent', FLUSH_INTERVAL_MS: '50', ...env });
  const running = await startLivepanel(config, silentLogger);
  const admin = async <T>(command: string, body: unknown): Promise<T> => {
    const res = await fetch(`${running.adminUrl}/api/admin/${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-livepanel-admin-token': readDataLock(dataDir)?.adminToken ?? '' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`admin ${command}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    ...running,
    dataDir,
    createProject: (name = 'Test', domain = 'example.com') => admin('create-project', { name, domain }),
    createClient: (projectId, type, origins = []) => admin('create-client', { project: projectId, type, origins }),
    admin,
    async destroy() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
