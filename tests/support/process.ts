/**
 * Runs Livepanel's real entry point (`server/main.ts`, what `npm start` runs) as a child
 * process for tests that must see the process itself: that it stays up under hostile input,
 * that it survives or dies on a signal, what it leaves on disk. Each server gets its own data
 * folder and a free port; `kill()` is SIGKILL, the crash a test wants to survive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { admin, waitUntil } from './e2e.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DIE_WITH_PARENT = './server/cluster/die-with-parent.mjs';

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  dead: () => boolean;
}

/** Runs `script` (relative to the repo) with tsx, in a clean environment plus `env`. */
export function runNode(script: string, args: string[], env: Record<string, string>): Proc {
  // A server keeps its stdin open as a lifeline: it exits when this process goes away, even when a
  // timed-out test runner is killed, instead of lingering on its port (die-with-parent.mjs).
  const server = script === 'server/main.ts';
  const child = spawn(process.execPath, ['--import', 'tsx', ...(server ? ['--import', DIE_WITH_PARENT] : []), script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: [server ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let gone = false;
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    err += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      gone = true;
      resolve({ code, signal });
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited, dead: () => gone };
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

/** One Livepanel server process on its own data folder; restartable on the same folder and port. */
export interface ServerProcess {
  base: string;
  dataDir: string;
  proc: Proc;
  /** Starts (or restarts after it exited) the server and waits until /healthz answers 200. */
  start(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (drain) and wait for the exit code. */
  stop(): Promise<number | null>;
  /** Runs an admin command through the server (loopback + the lock's token). */
  admin<T>(command: string, body: unknown): Promise<T>;
  /** Kills the process if alive and removes the data folder. */
  destroy(): Promise<void>;
}

export async function serverProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-proc-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const self: ServerProcess = {
    base,
    dataDir,
    proc: undefined as unknown as Proc,
    async start() {
      self.proc = runNode('server/main.ts', [], {
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        FLUSH_INTERVAL_MS: '100',
        ...env,
      });
      const p = self.proc;
      await waitUntil(
        async () => {
          if (p.dead()) throw new Error(`server exited during start-up (${JSON.stringify(await p.exited)}):\n${p.stdout()}\n${p.stderr()}`);
          try {
            return (await fetch(`${base}/healthz`)).status === 200;
          } catch {
            return false;
          }
        },
        240_000, // chDB and PGlite start slowly on a loaded machine (over 90 s seen in a full run)
        100,
      );
    },
    async kill() {
      if (!self.proc.dead()) self.proc.child.kill('SIGKILL');
      await self.proc.exited;
    },
    async stop() {
      if (!self.proc.dead()) self.proc.child.kill('SIGTERM');
      return (await self.proc.exited).code;
    },
    admin: <T>(command: string, body: unknown) => admin<T>(dataDir, command, body),
    async destroy() {
      if (self.proc && !self.proc.dead()) await self.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
