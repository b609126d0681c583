/**
 * A private redis-server for tests that must stop and restart Redis (the shared one at
 * 127.0.0.1:6379 must never be restarted). Runs `redis-server` on a free port with its data
 * in a temporary folder; `stop()` shuts it down (SHUTDOWN, or SIGKILL to simulate a crash)
 * and `start()` brings it back on the same port and folder, so with `appendonly: true` what
 * was written before the stop is there again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServerOptions {
  /** AOF with `appendfsync always`: every acknowledged write survives a restart or a crash. */
  appendonly: boolean;
  port?: number;
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  readonly running: boolean;
  /** Starts (or restarts) the server and waits until it answers PING. */
  start(): Promise<void>;
  /** `shutdown`: SHUTDOWN NOSAVE (clean); `crash`: SIGKILL. Resolves once the process is gone. */
  stop(how?: 'shutdown' | 'crash'): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRedisServer(opts: RedisServerOptions): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let output = '';

  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];

  async function ping(): Promise<boolean> {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500, enableOfflineQueue: false });
    c.on('error', () => {});
    try {
      await c.connect();
      // LOADING (AOF replay) answers PING with an error: wait until the data is there.
      return (await c.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  }

  const server: RedisServer = {
    port,
    url,
    dir,
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (server.running) return;
      output = '';
      const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout!.on('data', (d) => (output += d));
      c.stderr!.on('data', (d) => (output += d));
      const deadline = Date.now() + 10_000;
      while (!(await ping())) {
        if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}:\n${output}`);
        if (Date.now() > deadline) {
          c.kill('SIGKILL');
          throw new Error(`redis-server on ${port} did not answer PING:\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(how = 'shutdown') {
      const c = child;
      if (!c || !server.running) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      if (how === 'crash') {
        c.kill('SIGKILL');
      } else {
        const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        admin.on('error', () => {});
        await admin
          .connect()
          .then(() => admin.call('SHUTDOWN', 'NOSAVE'))
          .catch(() => {}); // the connection drops as the server exits
        admin.disconnect();
        const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await exited;
    },
    async destroy() {
      await server.stop('crash');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
