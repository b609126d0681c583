/**
 * Outgoing mail (invitations) through nodemailer when `SMTP_URL` is set. Without it nothing
 * is sent and the dashboard shows the invitation link to the inviter to pass on; a failed
 * send is logged and reported the same way, never failing the invitation itself.
 */
import nodemailer from 'nodemailer';
import type { Logger } from '../log.ts';

export interface Mailer {
  /** Sends an invitation; resolves false (and logs) when the mail could not be handed to the server. */
  sendInvitation(m: { to: string; url: string; orgName: string; inviter: string; expiresAt: Date }): Promise<boolean>;
}

export function createMailer(o: { smtpUrl: string; from: string; log: Logger }): Mailer {
  const transport = nodemailer.createTransport(o.smtpUrl);
  return {
    async sendInvitation(m) {
      const text = [
        `${m.inviter} invited you to ${m.orgName} on Livepanel.`,
        '',
        `Accept the invitation: ${m.url}`,
        '',
        `The link works once and expires ${m.expiresAt.toUTCString()}.`,
      ].join('\n');
      try {
        await transport.sendMail({ from: o.from, to: m.to, subject: `Join ${m.orgName} on Livepanel`, text });
        return true;
      } catch (err) {
        o.log.warn({ err, to: m.to }, 'invitation mail not sent; the inviter has the link');
        return false;
      }
    },
  };
}
