import uWS from 'uWebSockets.js';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { io as connect } from 'socket.io-client';
import { restoreAdapter } from 'socket.io/dist/uws.js';

const prefix = `lpscratch:${Date.now()}:`;
async function node() {
  const app = uWS.App();
  const pub = new Redis('redis://127.0.0.1:6379');
  const sub = pub.duplicate();
  const io = new Server({ serveClient: false, adapter: createAdapter(pub, sub, { key: prefix }) });
  io.attachApp(app); restoreAdapter();
  io.on('connection', (s) => s.join('room'));
  const port = await new Promise<number>((r) => app.listen('127.0.0.1', 0, (ls) => r(uWS.us_socket_local_port(ls as any))));
  return { app, io, port, pub, sub };
}
const a = await node();
const b = await node();
const ca = connect(`http://127.0.0.1:${a.port}`, { transports: ['websocket'] });
const cb = connect(`http://127.0.0.1:${b.port}`, { transports: ['websocket'] });
await Promise.all([new Promise((r) => ca.on('connect', r)), new Promise((r) => cb.on('connect', r))]);
await new Promise((r) => setTimeout(r, 200));
const got: string[] = [];
ca.on('m', (x) => got.push('a:' + x));
cb.on('m', (x) => got.push('b:' + x));
a.io.to('room').emit('m', 'fromA');
b.io.to('room').emit('m', 'fromB');
await new Promise((r) => setTimeout(r, 500));
console.log(got.sort());
ca.close(); cb.close();
await a.io.close(); await b.io.close();
for (const n of [a, b]) { n.pub.disconnect(); n.sub.disconnect(); }
process.exit(0);
