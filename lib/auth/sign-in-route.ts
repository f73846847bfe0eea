// The HTTP side of password sign-in (next-auth's POST /api/auth/callback/credentials): a locked
// account or IP is answered 429 with Retry-After before next-auth (and bcrypt) runs, with the body
// next-auth's client expects ({ url }, whose `error` the sign-in page turns into "Too many attempts,
// try again in N minutes") plus this API's error object. The body is capped before it is parsed.
import { env } from '@/lib/env';
import { AppError, errorResponse } from '@/lib/http/errors';
import { readCappedBody } from '@/lib/http/parse';
import type { ErrorResponse } from '@/lib/http/schemas';
import { checkSignInAllowed, clientIp, TooManyAttemptsError, tooManyAttemptsCode } from './sign-in-throttle';

export const SIGN_IN_MAX_BODY = 16 * 1024;

export function isCredentialsCallback(req: Request): boolean {
  if (req.method !== 'POST') return false;
  try {
    return new URL(req.url).pathname.replace(/\/+$/, '') === '/api/auth/callback/credentials';
  } catch {
    return false;
  }
}

/** The 429 answer for a throttled sign-in. */
export function tooManyAttemptsResponse(err: TooManyAttemptsError, requestId: string): Response {
  const url = new URL('/sign-in', env().nextAuthUrl);
  url.searchParams.set('error', tooManyAttemptsCode(err));
  const body: ErrorResponse & { url: string } = {
    url: url.toString(),
    error: { code: 'rate_limited', message: err.message },
    request_id: requestId,
  };
  return Response.json(body, { status: 429, headers: { 'retry-after': String(err.retryAfterSeconds), 'cache-control': 'no-store' } });
}

/**
 * For the credentials callback: the body (read once, capped) to hand on to next-auth, or the
 * answer to give instead (413 for an oversized body, 429 while the account or IP is locked).
 */
export async function precheckCredentialsSignIn(req: Request, requestId: string): Promise<{ body: string } | { response: Response }> {
  let body: string;
  try {
    body = (await readCappedBody(req, SIGN_IN_MAX_BODY)).toString('utf8');
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { response: errorResponse(err, requestId) };
  }
  const email = new URLSearchParams(body).get('email') ?? '';
  try {
    if (email) await checkSignInAllowed({ email, ip: clientIp(req.headers) });
  } catch (err) {
    if (err instanceof TooManyAttemptsError) return { response: tooManyAttemptsResponse(err, requestId) };
    throw err;
  }
  return { body };
}

/** next-auth answers a throttle thrown inside authorize with 401 + `error=TooManyAttempts-N`: restate it as 429. */
export async function restateThrottled(res: Response): Promise<Response> {
  if (res.status !== 401 || !(res.headers.get('content-type') ?? '').includes('application/json')) return res;
  const text = await res.clone().text();
  const m = /TooManyAttempts-(\d+)/.exec(text);
  if (!m) return res;
  const headers = new Headers(res.headers);
  headers.set('retry-after', String(Number(m[1]) * 60));
  return new Response(text, { status: 429, headers });
}
