/**
 * With `SMTP_URL` set, an invitation is also mailed (nodemailer), and the answer says so;
 * without a reachable mail server the invitation still works and says it was not mailed.
 * The mail server here is a minimal SMTP listener on 127.0.0.1 that records what it receives.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/livepanel.ts';

/** Enough of SMTP (RFC 5321) for one client: no extensions, no TLS, every command accepted. */
async function startSmtpSink(): Promise<{ port: number; mails: string[]; close(): Promise<void> }> {
  const mails: string[] = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          mails.push(buffer.slice(0, end));
          buffer = buffer.slice(end + 5);
          inData = false;
          socket.write('250 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (line.startsWith('EHLO') || line.startsWith('HELO')) socket.write('250 sink\r\n');
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let lp: TestServer;
let invite: (email: string) => Promise<{ url: string; emailed: boolean }>;

beforeAll(async () => {
  smtp = await startSmtpSink();
  lp = await startTestServer({ SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, SMTP_FROM: 'Livepanel <panel@example.com>' });
  await lp.admin('create-user', { email: 'owner@example.com', password: 'mail test password' });
  const signIn = await fetch(`${lp.url}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: lp.url },
    body: JSON.stringify({ email: 'owner@example.com', password: 'mail test password' }),
  });
  const { csrfToken } = (await signIn.json()) as { csrfToken: string };
  const headers = {
    'content-type': 'application/json',
    origin: lp.url,
    cookie: (signIn.headers.get('set-cookie') ?? '').split(';')[0]!,
    'x-livepanel-csrf': csrfToken,
  };
  const me = (await (await fetch(`${lp.url}/api/auth/me`, { headers })).json()) as { orgs: Array<{ orgId: string }> };
  invite = async (email) => {
    const res = await fetch(`${lp.url}/api/v1/orgs/${me.orgs[0]!.orgId}/invitations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ email, role: 'viewer' }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { url: string; emailed: boolean };
  };
});

afterAll(async () => {
  await lp?.destroy();
  await smtp?.close().catch(() => {});
});

describe('invitation mail', () => {
  it('is sent through SMTP_URL, with the link', async () => {
    const invitation = await invite('new@example.com');
    expect(invitation.emailed).toBe(true);
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail).toMatch(/^To: new@example\.com/m);
    expect(mail).toMatch(/^From: Livepanel <panel@example\.com>/m);
    expect(mail.replace(/=\r\n/g, '')).toContain(invitation.url);
  });

  it('a mail server that is down does not fail the invitation; the link is still shown', async () => {
    await smtp.close();
    const invitation = await invite('later@example.com');
    expect(invitation.emailed).toBe(false);
    expect(invitation.url).toMatch(/\/invite\/lpi_/);
  });
});
