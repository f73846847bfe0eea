// One HTTP attempt of a webhook: POST the body with its signature headers, 10 s for the whole
// exchange, redirects never followed (a 3xx is a failed attempt), the connected address checked
// against the outbound policy, at most 64 kB of the answer read.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { OutboundRefusedError, policyLookup, portOf, refusalOf } from './outbound';

export const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;

export type SendResult =
  | { ok: true; statusCode: number; latencyMs: number }
  | { ok: false; statusCode: number | null; latencyMs: number; error: string; refused?: boolean };

export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<SendResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  // An IP literal is connected to without a lookup: check it here, before any packet.
  const literal = u.hostname.replace(/^\[|\]$/g, '');
  const refusal = net.isIP(literal) ? refusalOf(literal, portOf(u)) : null;
  if (refusal) return { ok: false, statusCode: null, latencyMs: latency(), error: refusal, refused: true };
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = client.request(
      u,
      {
        method: 'POST',
        lookup: policyLookup(portOf(u)),
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'DDE-Webhooks/1',
        },
        signal: opts.signal,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        const finish = () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) done({ ok: true, statusCode: code, latencyMs: latency() });
          else
            done({
              ok: false,
              statusCode: code,
              latencyMs: latency(),
              error:
                code >= 300 && code < 400
                  ? `The receiver answered ${code} (a redirect${res.headers.location ? ' to another URL' : ''}); DDE does not follow redirects.`
                  : `The receiver answered ${code}.`,
            });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error('timeout'));
      done({ ok: false, statusCode: null, latencyMs: latency(), error: `No answer within ${timeoutMs / 1000} s.` });
    }, timeoutMs);
    timer.unref();
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof OutboundRefusedError)
        return done({ ok: false, statusCode: null, latencyMs: latency(), error: err.message, refused: true });
      const why =
        err.code === 'ECONNREFUSED'
          ? 'Connection refused.'
          : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
            ? 'The host name did not resolve.'
            : err.code === 'ECONNRESET'
              ? 'The connection was reset.'
              : `Network error (${err.code ?? err.message}).`;
      done({ ok: false, statusCode: null, latencyMs: latency(), error: why });
    });
    req.end(body);
  });
}
