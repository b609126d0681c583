/**
 * The transport ceiling for `npm run bench:ingest`: a bare uWebSockets.js server, in its own
 * process, doing only what every ingest request has to do — read the body (or frame), decode
 * UTF-8 and `JSON.parse` it — and answering as Livepanel does (`POST /track` → 200 JSON,
 * `/ws` batch → `ack` frame with its seq). No validation, no enrichment, no durability: the
 * ratio of Livepanel's rate to this one is how much of the machine the product's own work
 * takes, and it survives a noisy machine better than absolute figures.
 *
 * Usage (the benchmark starts it): tsx bench/bare-uws.ts <port>
 */
import uWS from 'uWebSockets.js';

const port = Number(process.argv[2] ?? 0);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const answer = JSON.stringify({ deviceId: 'bare', sessionId: 'bare' });

const app = uWS.App();
app.post('/track', (res) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
    if (!isLast || aborted) return;
    const body = JSON.parse(utf8.decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))) as { type?: string };
    res.cork(() => {
      res.writeStatus(body.type ? '200 OK' : '400 Bad Request');
      res.writeHeader('content-type', 'application/json');
      res.end(answer);
    });
  });
});
app.ws('/ws', {
  maxPayloadLength: 4 * 1024 * 1024,
  message(ws, message) {
    const frame = JSON.parse(utf8.decode(message)) as { seq: number; events: unknown[] };
    ws.send(JSON.stringify({ type: 'ack', seq: frame.seq, accepted: frame.events.length, rejected: [], dropped: [] }));
  },
});
app.get('/healthz', (res) => {
  res.end('ok');
});
app.listen('127.0.0.1', port, (ok) => {
  if (!ok) {
    console.error(`bare-uws: cannot listen on ${port}`);
    process.exit(1);
  }
});
// Exit with the parent (the benchmark), as the Livepanel nodes do.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
