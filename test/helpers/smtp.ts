// A real SMTP listener (smtp-server) on 127.0.0.1 for the email tests and the e2e suite: it keeps
// every message it accepts and can refuse them on demand (450) to exercise retries.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export type ReceivedMail = { from: string; to: string[]; raw: string };

export type SmtpListener = { url: string; received: ReceivedMail[]; close: () => Promise<void> };

export async function startSmtp(options: { reject?: () => boolean; onMessage?: (mail: ReceivedMail) => void } = {}): Promise<SmtpListener> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (options.reject?.()) return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 450 }));
        const mail: ReceivedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        };
        received.push(mail);
        options.onMessage?.(mail);
        callback();
      });
    },
  });
  // A client that goes away mid-conversation (the app server stopped at the end of a run) resets its
  // socket; like any mail server, the listener drops that connection and keeps serving.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}
