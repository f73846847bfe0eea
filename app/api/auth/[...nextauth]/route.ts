// GET|POST /api/auth/* – next-auth: sign-in (password or single sign-on), callbacks, session, sign-out
import NextAuth from 'next-auth';
import type { NextRequest } from 'next/server';
import { authOptions } from '@/lib/auth/options';
import { withRequest } from '@/lib/http/with-auth';

const handler = withRequest<{ nextauth?: string[] }>(async (req, { params }) => {
  const nextAuth = NextAuth(authOptions()) as (req: NextRequest, ctx: { params: Promise<{ nextauth?: string[] }> }) => Promise<Response>;
  return nextAuth(req as NextRequest, { params: Promise.resolve(params) });
});

export { handler as GET, handler as POST };
