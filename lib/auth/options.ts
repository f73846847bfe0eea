// next-auth v4 configuration: email + password (bcrypt) and, when configured, one OIDC provider that
// signs existing accounts in by email. Sessions are JWTs carrying the account id, email and role;
// every request re-reads the account, so disabling it or changing its programs takes effect at once.
import type { NextAuthOptions, User } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { z } from 'zod';
import { getDb } from '@/db/client';
import { findAccountByEmail, recordSignIn } from '@/db/queries/auth';
import type { Role } from '@/db/schema/auth';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';
import { logger } from '@/lib/logger';
import { verifyPassword } from './passwords';

declare module 'next-auth' {
  interface Session {
    user: { id: string; email: string; name: string | null; role: Role };
  }
  interface User {
    role?: Role;
  }
}
declare module 'next-auth/jwt' {
  interface JWT {
    role?: Role;
  }
}

/** Error codes the sign-in page turns into sentences (next-auth passes them as `?error=`). */
export const SIGN_IN_ERRORS = {
  CredentialsSignin: 'CredentialsSignin',
  AccountDisabled: 'AccountDisabled',
  NoAccount: 'NoAccount',
} as const;

export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

/** The session cookie's name, which depends on whether the site is served over https. */
export function sessionCookieName(): string {
  return env().nextAuthUrl.startsWith('https://') ? '__Secure-next-auth.session-token' : 'next-auth.session-token';
}

const credentialsSchema = z.object({ email: z.string().trim().min(1).max(320), password: z.string().min(1).max(1000) });

/** Checks an email and password; returns the user to sign in, null when wrong, throws AccountDisabled. */
export async function authorizeCredentials(input: unknown): Promise<User | null> {
  const parsed = credentialsSchema.safeParse(input);
  if (!parsed.success) return null;
  const db = getDb();
  const account = await findAccountByEmail(db, parsed.data.email);
  // Always run bcrypt, so an unknown email answers as slowly as a wrong password.
  const ok = await verifyPassword(parsed.data.password, account?.passwordHash ?? null);
  if (!account || !ok) {
    // Accounts without a password (single sign-on only) get the same answer: nothing is revealed.
    logger().info({ event: 'sign_in_failed', reason: 'bad_credentials' }, 'sign-in refused');
    return null;
  }
  if (account.disabledAt) {
    logger().info({ event: 'sign_in_failed', reason: 'disabled', accountId: account.id }, 'sign-in refused');
    throw new Error(SIGN_IN_ERRORS.AccountDisabled);
  }
  await recordSignIn(db, { accountId: account.id, at: now() });
  logger().info({ event: 'signed_in', accountId: account.id, method: 'password' }, 'signed in');
  return { id: account.id, email: account.email, name: account.name, role: account.role };
}

type OidcProfile = { sub: string; email?: string; email_verified?: boolean; name?: string };

function oidcProvider(oidc: NonNullable<ReturnType<typeof env>['oidc']>): NextAuthOptions['providers'][number] {
  const issuer = oidc.issuer.replace(/\/+$/, '');
  return {
    id: 'oidc',
    name: oidc.name,
    type: 'oauth',
    wellKnown: `${issuer}/.well-known/openid-configuration`,
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret,
    authorization: { params: { scope: 'openid email profile' } },
    idToken: true,
    checks: ['pkce', 'state'],
    profile(profile: OidcProfile) {
      return { id: profile.sub, email: profile.email ?? null, name: profile.name ?? null };
    },
  };
}

let cached: { options: NextAuthOptions; for: ReturnType<typeof env> } | undefined;

/** The next-auth options, built on first use (configuration is read at request time, not at build). */
export function authOptions(): NextAuthOptions {
  const e = env();
  if (cached?.for === e) return cached.options;
  const providers: NextAuthOptions['providers'] = [
    CredentialsProvider({
      id: 'credentials',
      name: 'Email and password',
      credentials: { email: { label: 'Email', type: 'email' }, password: { label: 'Password', type: 'password' } },
      authorize: (credentials) => authorizeCredentials(credentials),
    }),
  ];
  if (e.oidc) providers.push(oidcProvider(e.oidc));
  const options: NextAuthOptions = {
    secret: e.nextAuthSecret,
    useSecureCookies: e.nextAuthUrl.startsWith('https://'),
    session: { strategy: 'jwt', maxAge: SESSION_MAX_AGE_SECONDS },
    pages: { signIn: '/sign-in', error: '/sign-in' },
    providers,
    logger: {
      error: (code, metadata) =>
        logger().error(
          { event: 'next_auth_error', code, err: metadata instanceof Error ? metadata.message : undefined },
          'next-auth error',
        ),
      warn: (code) => logger().warn({ event: 'next_auth_warning', code }, 'next-auth warning'),
      debug: () => undefined,
    },
    callbacks: {
      async signIn({ user, account, profile }) {
        if (account?.provider !== 'oidc') return true;
        // Single sign-on only signs in accounts that already exist here, matched by email.
        const email = (profile as OidcProfile | undefined)?.email ?? user.email;
        const existing = email ? await findAccountByEmail(getDb(), email) : undefined;
        if (!existing) return `/sign-in?error=${SIGN_IN_ERRORS.NoAccount}`;
        if (existing.disabledAt) return `/sign-in?error=${SIGN_IN_ERRORS.AccountDisabled}`;
        await recordSignIn(getDb(), { accountId: existing.id, at: now(), oidcSubject: (profile as OidcProfile | undefined)?.sub });
        logger().info({ event: 'signed_in', accountId: existing.id, method: 'oidc' }, 'signed in');
        return true;
      },
      async jwt({ token, user, account }) {
        if (user && account?.provider === 'oidc') {
          const existing = user.email ? await findAccountByEmail(getDb(), user.email) : undefined;
          if (existing) {
            token.sub = existing.id;
            token.email = existing.email;
            token.name = existing.name;
            token.role = existing.role;
          }
        } else if (user) {
          token.sub = user.id;
          token.role = user.role;
        }
        return token;
      },
      async session({ session, token }) {
        session.user = { id: token.sub ?? '', email: token.email ?? '', name: token.name ?? null, role: token.role ?? 'brand_super_admin' };
        return session;
      },
    },
  };
  cached = { options, for: e };
  return options;
}
