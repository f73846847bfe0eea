// POST /api/oauth/token – OAuth 2.0 client-credentials grant: an API client's id and secret in, a bearer token for its program out
import { exchangeClientCredentials, OAuthError } from '@/lib/auth/api-clients';
import { oauthErrorResponse, oauthFromAppError, readTokenRequest } from '@/lib/auth/oauth';
import { checkTokenRequestAllowed, clientIp, recordTokenFailure, TooManyAttemptsError } from '@/lib/auth/sign-in-throttle';
import { AppError } from '@/lib/http/errors';
import { enforceRateLimit } from '@/lib/http/rate-limit';
import { withRequest } from '@/lib/auth/with-auth';

export const dynamic = 'force-dynamic';

export const POST = withRequest(async (req, { requestId, database, log }) => {
  const ip = clientIp(req.headers);
  try {
    // The caller's address first: before the body is read or any credential is checked.
    await checkTokenRequestAllowed(ip);
    const input = await readTokenRequest(req);
    const { accessToken, expiresIn, scopes, client } = await exchangeClientCredentials(database().db, {
      ...input,
      // Only an authenticated client spends its own budget: a stranger who knows the client id cannot exhaust it.
      beforeIssue: async (c) => {
        await enforceRateLimit(`oauth:${c.id}`);
      },
    });
    log.info({ client: client.clientId, program: client.programId, scopes }, 'access token issued');
    return Response.json(
      { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' ') },
      { headers: { 'cache-control': 'no-store', pragma: 'no-cache' } },
    );
  } catch (err) {
    if (err instanceof TooManyAttemptsError) {
      log.warn({ event: 'token_request_throttled' }, 'token request refused');
      return oauthErrorResponse(
        new OAuthError('rate_limited', `Too many token requests from this address. Retry in ${err.retryAfterSeconds} s.`, 429),
        requestId,
        { 'retry-after': String(err.retryAfterSeconds) },
      );
    }
    if (err instanceof OAuthError) {
      if (err.error === 'invalid_client') await recordTokenFailure(ip);
      return oauthErrorResponse(err, requestId);
    }
    const limited = err instanceof AppError ? oauthFromAppError(err) : null;
    if (limited) return oauthErrorResponse(limited.error, requestId, limited.headers);
    throw err;
  }
});
