// next-auth v4 configuration: email + password (bcrypt) and, when configured, one OIDC provider that
// signs existing accounts in by email. Sessions are JWTs carrying the account id, email and role;
// every request re-reads the account, so disabling it or changing its programs takes effect at once.
import type { NextAuthOptions, User } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { z } from 'zod';
import { getDb } from '@/db/client';
import { findAccountByEmail, findAccountByOidcSubject, recordSignIn } from '@/db/queries/auth';
import type { Role } from '@/db/schema/auth';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';
import { logger } from '@/lib/logger';
import { safeCallbackUrl } from './callback-url';
import { oneTimePasswordExpired, verifyPassword } from './passwords';
import {
  checkSignInAllowed,
  clearSignInFailures,
  clientIp,
  recordSignInFailure,
  TooManyAttemptsError,
  tooManyAttemptsCode,
} from './sign-in-throttle';

declare module 'next-auth' {
  interface Session {
    user: { id: string; email: string; name: string | null; role: Role };
    /** The account's session version when this session was opened. */
    sessionVersion?: number;
  }
  interface User {
    role?: Role;
    sessionVersion?: number;
  }
}
declare module 'next-auth/jwt' {
  interface JWT {
    role?: Role;
    /** The account's session version when the session was opened (see lib/auth/session.ts). */
    sv?: number;
  }
}

/** Error codes the sign-in page turns into sentences (next-auth passes them as `?error=`). */
export const SIGN_IN_ERRORS = {
  CredentialsSignin: 'CredentialsSignin',
  AccountDisabled: 'AccountDisabled',
  NoAccount: 'NoAccount',
  OneTimePasswordExpired: 'OneTimePasswordExpired',
  EmailNotVerified: 'EmailNotVerified',
  SsoSubjectMismatch: 'SsoSubjectMismatch',
} as const;

export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

/** The session cookie's name, which depends on whether the site is served over https. */
export function sessionCookieName(): string {
  return env().nextAuthUrl.startsWith('https://') ? '__Secure-next-auth.session-token' : 'next-auth.session-token';
}

const credentialsSchema = z.object({ email: z.string().trim().min(1).max(320), password: z.string().min(1).max(1000) });

/**
 * Checks an email and password; returns the user to sign in, null when wrong, throws AccountDisabled,
 * OneTimePasswordExpired or TooManyAttempts-<minutes> (sign-in throttle, checked before bcrypt runs).
 */
export async function authorizeCredentials(
  input: unknown,
  req?: { headers?: Record<string, string | string[] | undefined> | Headers },
): Promise<User | null> {
  const parsed = credentialsSchema.safeParse(input);
  if (!parsed.success) return null;
  const { email, password } = parsed.data;
  const ip = clientIp(req?.headers);
  try {
    await checkSignInAllowed({ email, ip, count: true });
  } catch (err) {
    if (!(err instanceof TooManyAttemptsError)) throw err;
    logger().warn({ event: 'sign_in_failed', reason: 'throttled' }, 'sign-in refused');
    throw new Error(tooManyAttemptsCode(err));
  }
  const db = getDb();
  const account = await findAccountByEmail(db, email);
  // Always run bcrypt, so an unknown email answers as slowly as a wrong password.
  const ok = await verifyPassword(password, account?.passwordHash ?? null);
  if (!account || !ok) {
    // Accounts without a password (single sign-on only) get the same answer: nothing is revealed.
    await recordSignInFailure({ email, ip });
    logger().info({ event: 'sign_in_failed', reason: 'bad_credentials' }, 'sign-in refused');
    return null;
  }
  if (account.disabledAt) {
    logger().info({ event: 'sign_in_failed', reason: 'disabled', accountId: account.id }, 'sign-in refused');
    throw new Error(SIGN_IN_ERRORS.AccountDisabled);
  }
  if (oneTimePasswordExpired(account, now())) {
    logger().info({ event: 'sign_in_failed', reason: 'one_time_password_expired', accountId: account.id }, 'sign-in refused');
    throw new Error(SIGN_IN_ERRORS.OneTimePasswordExpired);
  }
  await clearSignInFailures(email);
  await recordSignIn(db, { accountId: account.id, at: now() });
  logger().info({ event: 'signed_in', accountId: account.id, method: 'password' }, 'signed in');
  return { id: account.id, email: account.email, name: account.name, role: account.role, sessionVersion: account.sessionVersion };
}

/**
 * Single sign-on: where an IdP login may go. Only existing, enabled accounts, only with an email the
 * IdP says it verified, and only the IdP subject bound on the first link (or none yet).
 */
export async function oidcSignInDecision(profile: OidcProfile | undefined, fallbackEmail?: string | null): Promise<true | string> {
  const email = profile?.email ?? fallbackEmail ?? undefined;
  const sub = typeof profile?.sub === 'string' && profile.sub ? profile.sub : undefined;
  if (!sub) return `/sign-in?error=${SIGN_IN_ERRORS.SsoSubjectMismatch}`;
  if (profile?.email_verified !== true && (profile?.email_verified as unknown) !== 'true') {
    logger().info({ event: 'sign_in_failed', reason: 'email_not_verified', method: 'oidc' }, 'sign-in refused');
    return `/sign-in?error=${SIGN_IN_ERRORS.EmailNotVerified}`;
  }
  const db = getDb();
  const existing = email ? await findAccountByEmail(db, email) : undefined;
  if (!existing) return `/sign-in?error=${SIGN_IN_ERRORS.NoAccount}`;
  if (existing.disabledAt) return `/sign-in?error=${SIGN_IN_ERRORS.AccountDisabled}`;
  const boundElsewhere = await findAccountByOidcSubject(db, sub);
  if ((existing.oidcSubject && existing.oidcSubject !== sub) || (boundElsewhere && boundElsewhere.id !== existing.id)) {
    logger().warn({ event: 'sign_in_failed', reason: 'oidc_subject_mismatch', accountId: existing.id }, 'sign-in refused');
    return `/sign-in?error=${SIGN_IN_ERRORS.SsoSubjectMismatch}`;
  }
  await recordSignIn(db, { accountId: existing.id, at: now(), oidcSubject: sub });
  logger().info({ event: 'signed_in', accountId: existing.id, method: 'oidc', firstLink: !existing.oidcSubject }, 'signed in');
  return true;
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
      authorize: (credentials, req) => authorizeCredentials(credentials, req),
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
        return oidcSignInDecision(profile as OidcProfile | undefined, user.email);
      },
      redirect({ url, baseUrl }) {
        return safeCallbackUrl(url, baseUrl) ?? baseUrl;
      },
      async jwt({ token, user, account }) {
        if (user && account?.provider === 'oidc') {
          const existing = user.email ? await findAccountByEmail(getDb(), user.email) : undefined;
          if (existing) {
            token.sub = existing.id;
            token.email = existing.email;
            token.name = existing.name;
            token.role = existing.role;
            token.sv = existing.sessionVersion;
          }
        } else if (user) {
          token.sub = user.id;
          token.role = user.role;
          token.sv = user.sessionVersion ?? 0;
        }
        return token;
      },
      async session({ session, token }) {
        session.user = { id: token.sub ?? '', email: token.email ?? '', name: token.name ?? null, role: token.role ?? 'brand_super_admin' };
        session.sessionVersion = token.sv ?? 0;
        return session;
      },
    },
  };
  cached = { options, for: e };
  return options;
}
