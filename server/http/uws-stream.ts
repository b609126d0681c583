/**
 * Streams a response body from an async source with backpressure: each chunk is written as it
 * comes, and when uWS reports the socket's buffer full the next chunk waits for `onWritable`.
 * A client that goes away stops the source (its generator is returned). An error after the
 * status line was sent cannot become an error response any more: the connection is closed,
 * so the client sees a truncated body rather than a complete-looking one.
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { Logger } from '../log.ts';
import { statusLine } from './uws.ts';

export async function streamResponse(
  res: HttpResponse,
  status: number,
  headers: Record<string, string>,
  chunks: AsyncIterable<string>,
  log: Logger,
): Promise<void> {
  if (res.aborted) return;
  let waiting: (() => void) | undefined;
  res.onAborted(() => {
    res.aborted = true;
    waiting?.();
  });
  res.cork(() => {
    res.writeStatus(statusLine(status));
    for (const k in headers) res.writeHeader(k, headers[k]!);
  });
  try {
    for await (const chunk of chunks) {
      if (res.aborted) return;
      if (!chunk) continue;
      let ok = true;
      res.cork(() => {
        ok = res.write(chunk);
      });
      if (!ok && !res.aborted) {
        await new Promise<void>((resolve) => {
          waiting = resolve;
          res.onWritable(() => {
            resolve();
            return true;
          });
        });
        waiting = undefined;
      }
    }
    if (!res.aborted) res.cork(() => res.end());
  } catch (err) {
    log.error({ err }, 'streamed response failed mid-way; closing the connection');
    if (!res.aborted) res.close();
  } finally {
    res.aborted = true; // one response only: nothing else may write to it
  }
}
