/**
 * Livepanel as its own process (`server/main.ts`, what `npm start` runs), for tests that kill
 * it: start on a given port and data folder, wait for /healthz, SIGKILL, start again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitUntil } from './e2e.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a script of this repository with tsx in a clean environment plus `env`. */
export function runScript(script: string, args: string[], env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    output: () => out,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Starts `server/main.ts` and waits (generously) until /healthz answers 200. */
export async function startServerProcess(port: number, env: Record<string, string>): Promise<ServerProcess> {
  const p = runScript('server/main.ts', [], { PORT: String(port), HOST: '127.0.0.1', FLUSH_INTERVAL_MS: '100', ...env });
  let gone = false;
  p.exited.then(() => {
    gone = true;
  });
  await waitUntil(
    async () => {
      if (gone) throw new Error(`server exited during start-up:\n${p.output()}`);
      return fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
    },
    90_000,
    100,
  );
  return p;
}
