// POST /api/oauth/token – OAuth 2.0 client-credentials grant: an API client's id and secret in, a bearer token for its program out
import { exchangeClientCredentials, OAuthError } from '@/lib/auth/api-clients';
import { oauthErrorResponse, oauthFromAppError, readTokenRequest } from '@/lib/auth/oauth';
import { AppError } from '@/lib/http/errors';
import { enforceRateLimit } from '@/lib/http/rate-limit';
import { withRequest } from '@/lib/http/with-auth';

export const dynamic = 'force-dynamic';

export const POST = withRequest(async (req, { requestId, database, log }) => {
  try {
    const input = await readTokenRequest(req);
    enforceRateLimit(`oauth:${input.clientId.slice(0, 200)}`);
    const { accessToken, expiresIn, scopes, client } = await exchangeClientCredentials(database().db, input);
    log.info({ client: client.clientId, program: client.programId, scopes }, 'access token issued');
    return Response.json(
      { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' ') },
      { headers: { 'cache-control': 'no-store', pragma: 'no-cache' } },
    );
  } catch (err) {
    if (err instanceof OAuthError) return oauthErrorResponse(err, requestId);
    const limited = err instanceof AppError ? oauthFromAppError(err) : null;
    if (limited) return oauthErrorResponse(limited.error, requestId, limited.headers);
    throw err;
  }
});
