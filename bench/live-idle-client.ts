/**
 * Child process of `bench/live-scale.ts`: opens idle SDK sockets (its own descriptor limit,
 * so the parent is not the bound), spread over several loopback source addresses so the
 * ephemeral port range of one address pair is never the limit. Talks to the parent over IPC:
 * receives { url, clientId, from, count, addresses, origin, devicesEvery }, answers
 * { opened, failed } once every socket is open (or failed), then closes them all on 'close'.
 */
import WebSocket from 'ws';

interface Job {
  url: string;
  clientId: string;
  from: number;
  count: number;
  addresses: string[];
  origin: string;
  /** Sockets per device (2: every device has two tabs open). */
  tabs: number;
}

const sockets: WebSocket[] = [];
/** Devices with at least one socket open. */
const devices = new Set<number>();

async function open(job: Job) {
  const errors = new Set<string>();
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const n = job.from + i;
      const ws = new WebSocket(`${job.url}/ws?clientId=${job.clientId}&deviceId=idle-${Math.floor(n / job.tabs)}`, {
        headers: { origin: job.origin, 'user-agent': 'Mozilla/5.0 (bench idle)', 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` },
        localAddress: job.addresses[n % job.addresses.length],
        perMessageDeflate: false,
      });
      ws.on('error', (err) => {
        errors.add(err.message.slice(0, 80));
      });
      ws.once('open', () => {
        sockets.push(ws);
        devices.add(Math.floor(n / job.tabs));
        resolve();
      });
      ws.once('close', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        errors.add(`HTTP ${res.statusCode}`);
        resolve();
      });
    });
  // A few hundred handshakes at a time: a burst of thousands would only queue in the kernel.
  for (let i = 0; i < job.count; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, job.count - i) }, (_, k) => one(i + k)));
  }
  process.send!({
    opened: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
    failed: job.count - sockets.length,
    errors: [...errors].slice(0, 5),
    devices: [...devices],
  });
}

process.on('message', (m: { job?: Job; close?: boolean }) => {
  if (m.job) void open(m.job);
  if (m.close) {
    let left = sockets.length;
    if (left === 0) process.exit(0);
    for (const ws of sockets) {
      ws.once('close', () => --left === 0 && process.exit(0));
      ws.close(1000);
    }
    setTimeout(() => process.exit(0), 15_000).unref();
  }
});
