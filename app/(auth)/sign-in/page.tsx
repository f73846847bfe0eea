// /sign-in: email and password (and single sign-on when configured). Signed-in visitors go straight in.
import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { CheckIcon } from '@/components/sign-in/check-icon';
import { SignInForm } from '@/components/sign-in/sign-in-form';
import { LogoMark } from '@/components/ui/icons';
import { safeCallbackPath } from '@/lib/auth/callback-url';
import { getPageActor } from '@/lib/auth/page';
import { env } from '@/lib/env';

export const metadata: Metadata = { title: 'Sign in' };

/** Only pages of this site (parsed as a browser would): never an open redirect. */
function safeCallback(value: string | string[] | undefined): string {
  return safeCallbackPath(value, env().nextAuthUrl);
}

const POINTS = [
  'Every event in exactly one file, late arrivals included',
  'Checksummed files delivered to your SFTP server or the export API',
  'Pinned host keys and encrypted credentials',
];

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  if (await getPageActor()) redirect(safeCallback(params.callbackUrl));
  const error = Array.isArray(params.error) ? params.error[0] : params.error;
  const signedOut = params.signed_out !== undefined;
  const sso = env().oidc?.name;

  return (
    <div className="flex min-h-dvh">
      <div className="relative hidden w-[44%] max-w-xl flex-col justify-between overflow-hidden bg-brand-950 p-12 text-white lg:flex">
        <div aria-hidden className="absolute -top-32 -right-40 size-[28rem] rounded-full bg-brand-600/40 blur-3xl" />
        <div aria-hidden className="absolute -bottom-40 -left-24 size-[26rem] rounded-full bg-brand-500/25 blur-3xl" />
        <div className="relative flex items-center gap-3">
          <LogoMark className="size-9" />
          <span className="text-base font-semibold">Direct Data Export</span>
        </div>
        <div className="relative">
          <h2 className="text-3xl leading-tight font-semibold tracking-tight">Engagement data, delivered on schedule.</h2>
          <ul className="mt-8 space-y-4">
            {POINTS.map((p) => (
              <li key={p} className="flex gap-3 text-sm leading-6 text-brand-100">
                <CheckIcon className="mt-1 size-4 shrink-0 text-brand-300" />
                {p}
              </li>
            ))}
          </ul>
        </div>
        <p className="relative text-xs text-brand-200/80">Self-hosted Direct Data Export for Firstup Insights</p>
      </div>

      <main className="flex flex-1 items-center justify-center px-5 py-12 sm:px-8">
        <div className="w-full max-w-sm">
          <div className="flex items-center gap-3 lg:hidden">
            <LogoMark className="size-9" />
            <span className="text-base font-semibold text-slate-900">Direct Data Export</span>
          </div>
          <h1 className="mt-8 text-2xl font-semibold tracking-tight text-slate-900 lg:mt-0">Sign in</h1>
          <p className="mt-1.5 text-sm text-slate-600">Use the account your Firstup administrator created for you.</p>
          <SignInForm
            callbackUrl={safeCallback(params.callbackUrl)}
            initialError={error ?? null}
            signedOut={signedOut}
            ssoName={sso ?? null}
          />
        </div>
      </main>
    </div>
  );
}
