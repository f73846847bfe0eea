// A real HTTP receiver on 127.0.0.1 for the webhook tests: it keeps every request and checks its
// signature with the standardwebhooks package, as a customer's endpoint would. `answer` decides each
// response by the request's number (1-based): a status code, 'hang' (accept, never answer) or a redirect.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type ReceivedWebhook = { headers: Record<string, string>; body: string; verified: boolean; verifyError?: string; at: number };
export type Answer = number | 'hang' | { redirect: string };

export type WebhookReceiver = {
  url: string;
  received: ReceivedWebhook[];
  /** The secret to verify with (set after the endpoint is created). */
  secret?: string;
  close: () => Promise<void>;
};

export async function startWebhookReceiver(answer: (n: number) => Answer = () => 200): Promise<WebhookReceiver> {
  const sockets = new Set<Socket>();
  const receiver: WebhookReceiver = { url: '', received: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
      const entry: ReceivedWebhook = { headers, body, verified: false, at: Date.now() };
      try {
        if (!receiver.secret) throw new Error('no secret to verify with');
        new Webhook(receiver.secret).verify(body, headers);
        entry.verified = true;
      } catch (err) {
        entry.verifyError = (err as Error).message;
      }
      receiver.received.push(entry);
      const a = answer(receiver.received.length);
      if (a === 'hang') return;
      if (typeof a === 'object') {
        res.writeHead(302, { location: a.redirect }).end();
        return;
      }
      res.writeHead(a, { 'content-type': 'text/plain' }).end(a < 300 ? 'ok' : 'not now');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/dde`;
  receiver.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return receiver;
}
