/**
 * `GET /lp.js` and `GET /lp.<hash>.js`: the browser SDK's script tag (sdk-script.ts decides
 * what to send). Registered on every node that takes SDK traffic or serves the dashboard.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { statusLine } from '../http/uws.ts';
import type { SdkScript } from './sdk-script.ts';

export function registerSdkScript(app: TemplatedApp, script: SdkScript): void {
  const serve = (name: string) => (res: HttpResponse, req: HttpRequest) => {
    const r = script.get(name, { 'accept-encoding': req.getHeader('accept-encoding'), 'if-none-match': req.getHeader('if-none-match') });
    res.cork(() => {
      res.writeStatus(statusLine(r.status));
      for (const k in r.headers) res.writeHeader(k, r.headers[k]!);
      res.end(r.body);
    });
  };
  app.get('/lp.js', serve('lp.js'));
  if (script.hashedName) app.get(`/${script.hashedName}`, serve(script.hashedName));
}
