// The token endpoint's HTTP side (RFC 6749 §4.4 client credentials): reading the request — form
// body (or JSON), client authentication by HTTP Basic or body parameters — and the RFC's error
// shape `{ error, error_description }` (plus our request_id), which OAuth client libraries expect
// instead of this API's usual error JSON.
import { AppError } from '@/lib/http/errors';
import { readCappedBody } from '@/lib/http/parse';
import { tokenRequestSchema, type OAuthErrorCode } from './api-access-schemas';
import { OAuthError } from './api-clients';

const MAX_BODY = 16 * 1024;

export type TokenRequestInput = { grantType: string; scope?: string; clientId: string; clientSecret: string; usedBasic: boolean };

/** RFC 6749 §2.3.1: id and secret are form-encoded, then joined with ':' and base64-encoded. */
function fromBasic(header: string): { clientId: string; clientSecret: string } {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m) throw new OAuthError('invalid_client', 'The Authorization header must be "Basic base64(client_id:client_secret)".', 401);
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'HTTP Basic credentials must be client_id:client_secret.', 401);
  const unform = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      throw new OAuthError('invalid_client', 'HTTP Basic credentials are not correctly encoded.', 401);
    }
  };
  return { clientId: unform(decoded.slice(0, colon)), clientSecret: unform(decoded.slice(colon + 1)) };
}

function tooLarge(): OAuthError {
  return new OAuthError('invalid_request', `The request body is too large (at most ${MAX_BODY / 1024} KB).`);
}

async function readBody(req: Request): Promise<Record<string, string>> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const text = (await readCappedBody(req, MAX_BODY, tooLarge)).toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(text);
    const out: Record<string, string> = {};
    for (const key of new Set(form.keys())) {
      const all = form.getAll(key);
      if (all.length > 1) throw new OAuthError('invalid_request', `The parameter ${key.slice(0, 40)} is repeated.`);
      out[key] = all[0];
    }
    return out;
  }
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new OAuthError('invalid_request', 'The request body is not valid JSON.');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new OAuthError('invalid_request', 'The request body must be an object.');
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  }
  throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
}

/** The grant and client credentials of a token request, or an OAuthError saying what is wrong. */
export async function readTokenRequest(req: Request): Promise<TokenRequestInput> {
  const body = await readBody(req);
  if (Object.values(body).some((v) => v.includes('\u0000')))
    throw new OAuthError('invalid_request', 'Parameters must not contain NUL characters.');
  const parsed = tokenRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OAuthError('invalid_request', `${String(issue.path[0] ?? 'request')}: ${issue.message}`);
  }
  const p = parsed.data;
  const authorization = req.headers.get('authorization');
  const inBody = p.client_id !== undefined || p.client_secret !== undefined;
  if (authorization && inBody)
    throw new OAuthError('invalid_request', 'Authenticate the client one way only: HTTP Basic or client_id/client_secret in the body.');
  let creds: { clientId: string; clientSecret: string };
  if (authorization) creds = fromBasic(authorization);
  else if (p.client_id && p.client_secret) creds = { clientId: p.client_id, clientSecret: p.client_secret };
  else
    throw new OAuthError(
      'invalid_client',
      'Client authentication is required: HTTP Basic, or client_id and client_secret in the body.',
      401,
    );
  if (p.grant_type !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', 'Only grant_type=client_credentials is supported.');
  }
  return { grantType: p.grant_type, scope: p.scope, ...creds, usedBasic: Boolean(authorization) };
}

/** An OAuth error response (RFC 6749 §5.2), with WWW-Authenticate on 401 and Retry-After on 429. */
export function oauthErrorResponse(err: OAuthError, requestId: string, extraHeaders: Record<string, string> = {}): Response {
  const headers: Record<string, string> = { 'cache-control': 'no-store', pragma: 'no-cache', ...extraHeaders };
  if (err.status === 401) headers['www-authenticate'] = 'Basic realm="dde", charset="UTF-8"';
  return Response.json({ error: err.error, error_description: err.description, request_id: requestId }, { status: err.status, headers });
}

/** A rate-limit refusal of this API, restated in the OAuth shape. */
export function oauthFromAppError(err: AppError): { error: OAuthError; headers: Record<string, string> } | null {
  if (err.code !== 'rate_limited') return null;
  const code: OAuthErrorCode = 'rate_limited';
  return { error: new OAuthError(code, err.message, 429), headers: err.headers ?? {} };
}
