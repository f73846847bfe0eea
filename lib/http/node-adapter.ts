// Serving a web route handler (Request → Response) from a Node response: the Pages Router API
// routes that need it. Next.js App Router route handlers drop Content-Length from every response
// (next/dist/server/send-response.js strips it), so a file download answered from there would go
// out chunked, without a length; the download route answers through this adapter instead.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { routeOf } from '@/lib/metrics';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { AppError, errorResponse } from './errors';
import { forwardedOrigin } from './origin';

/** The web Request for a Node request without a body (GET, HEAD): URL on the caller's origin (lib/http/origin.ts), headers copied. */
export function webRequestFrom(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, one);
      } catch {
        /* a header value fetch refuses (control characters): leave it out */
      }
    }
  }
  const socketProto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const origin = forwardedOrigin(headers, socketProto) ?? `${socketProto}://localhost`;
  return new Request(`${origin}${(req.url ?? '/').startsWith('/') ? req.url : '/'}`, {
    method: req.method === 'HEAD' ? 'HEAD' : 'GET',
    headers,
  });
}

/** Writes a web Response to a Node response, every header kept (Content-Length included); the body streamed. */
export async function sendWebResponse(res: ServerResponse, response: Response, method: string | undefined): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  if (!response.body || method === 'HEAD') {
    await response.body?.cancel().catch(() => undefined);
    res.end();
    return;
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  try {
    await pipeline(body, res);
  } catch {
    // The client went away (or the source failed mid-stream, already logged): nothing more to send.
    body.destroy();
    res.destroy();
  }
}

/** A Pages Router API handler serving a web route handler; `web` is that handler (tests call it, and read its gate). */
export type NodeRoute = ((req: IncomingMessage & { query?: Record<string, unknown> }, res: ServerResponse) => Promise<void>) & {
  readonly web: RouteHandler;
};

/**
 * A Pages Router API handler that runs a web route handler. Path parameters come from Next.js's
 * req.query when present, else from the last path segments (`params` in order).
 */
export function nodeRoute(
  handler: RouteHandler,
  params: string[],
  opts: {
    /** Rewrites the path the handler (and so its request log) sees; parameters are read before. */ maskPath?: (path: string) => string;
  } = {},
): NodeRoute {
  const route = async (req: IncomingMessage & { query?: Record<string, unknown> }, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const refusal = new AppError(
        'method_not_allowed',
        `${String(req.method).slice(0, 20)} is not allowed here; use GET or HEAD.`,
        undefined,
        {
          allow: 'GET, HEAD',
        },
      );
      await sendWebResponse(res, errorResponse(refusal, randomUUID()), req.method);
      return;
    }
    const request = webRequestFrom(req);
    const segments = new URL(request.url).pathname.split('/').slice(-params.length);
    const values: Record<string, string> = {};
    params.forEach((name, i) => {
      const fromQuery = req.query?.[name];
      if (typeof fromQuery === 'string') values[name] = fromQuery;
      else {
        try {
          values[name] = decodeURIComponent(segments[i] ?? '');
        } catch {
          values[name] = segments[i] ?? '';
        }
      }
    });
    // The route's template from the path as Next.js routed it, before any masking: the metric's label.
    const template = routeOf(new URL(request.url).pathname, values);
    let seen = request;
    if (opts.maskPath) {
      const u = new URL(request.url);
      u.pathname = opts.maskPath(u.pathname);
      seen = new Request(u, { method: request.method, headers: request.headers });
    }
    const response = await handler(seen, { params: Promise.resolve(values), route: template });
    await sendWebResponse(res, response, req.method);
  };
  return Object.assign(route, { web: handler });
}
