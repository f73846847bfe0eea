// GET|POST /api/auth/* – next-auth: sign-in (password or single sign-on), callbacks, session, sign-out
import NextAuth from 'next-auth';
import { NextRequest } from 'next/server';
import { authOptions } from '@/lib/auth/options';
import { isCredentialsCallback, precheckCredentialsSignIn, restateThrottled } from '@/lib/auth/sign-in-route';
import { withRequest } from '@/lib/auth/with-auth';

const handler = withRequest<{ nextauth?: string[] }>(async (req, { params, requestId }) => {
  const nextAuth = NextAuth(authOptions()) as (req: NextRequest, ctx: { params: Promise<{ nextauth?: string[] }> }) => Promise<Response>;
  if (!isCredentialsCallback(req)) return nextAuth(req as NextRequest, { params: Promise.resolve(params) });
  // Password sign-in: a locked account or IP gets 429 before next-auth (and bcrypt) runs.
  const checked = await precheckCredentialsSignIn(req, requestId);
  if ('response' in checked) return checked.response;
  const forwarded = new NextRequest(req.url, { method: req.method, headers: req.headers, body: checked.body });
  return restateThrottled(await nextAuth(forwarded, { params: Promise.resolve(params) }));
});

export { handler as GET, handler as POST };
