import WebSocket from 'ws';
import { startTestServer } from '/work/main/tests/support/livepanel.ts';
const s = await startTestServer({ MAX_BODY_BYTES: '65536' });
const p = await s.createProject('X', 'example.com');
const wsUrl = s.url.replace('http', 'ws') + '/ws';
function open(q: string, headers: Record<string,string> = {}) {
  return new Promise<any>((resolve) => {
    const ws = new WebSocket(wsUrl + q, { headers });
    ws.on('unexpected-response', (_req, res) => { let b=''; res.on('data', (c) => b+=c); res.on('end', () => resolve({ status: res.statusCode, body: b, headers: res.headers })); });
    ws.on('open', () => resolve({ ws }));
    ws.on('error', (e) => resolve({ error: String(e) }));
  });
}
console.log(await open(''));
console.log(await open('?clientId=' + p.clientId, { origin: 'https://evil.com' }));
const { ws } = await open('?clientId=' + p.clientId, { 'openpanel-client-secret': p.clientSecret });
ws.on('message', (m: any) => console.log('msg', String(m)));
ws.on('close', (c: number, r: any) => console.log('close', c, String(r)));
ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: true });
ws.send('{');
ws.send(JSON.stringify({ type: 'nope' }));
ws.send(JSON.stringify({ type: 'batch', seq: 3, events: [] }));
ws.send(JSON.stringify({ type: 'heartbeat' }));
await new Promise(r => setTimeout(r, 300));
ws.send('x'.repeat(70000));
await new Promise(r => setTimeout(r, 300));

const b = await open('?clientId=' + p.clientId, { 'openpanel-client-secret': p.clientSecret });
b.ws.on('close', (c: number, r: any) => console.log('close2', c, String(r)));
b.ws.send('x'.repeat(140000));
await new Promise(r => setTimeout(r, 300));
console.log((await fetch(s.url + '/healthz')).status);
await s.destroy();
