'use client';
// The sign-in form: email + password through next-auth's credentials provider, and single sign-on when configured.
import { signIn } from 'next-auth/react';
import { useId, useState, type FormEvent } from 'react';
import { AlertIcon, EyeIcon } from '@/components/ui/icons';
import { signInErrorMessage } from './messages';

export function SignInForm({
  callbackUrl,
  initialError,
  signedOut,
  ssoName,
}: {
  callbackUrl: string;
  initialError: string | null;
  signedOut: boolean;
  ssoName: string | null;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [showPassword, setShowPassword] = useState(false);
  const [error, setError] = useState<string | null>(initialError ? signInErrorMessage(initialError) : null);
  const [busy, setBusy] = useState(false);
  const ids = { email: useId(), password: useId(), error: useId() };

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!email.trim() || !password) {
      setError('Enter your email and password.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await signIn('credentials', { email: email.trim(), password, redirect: false, callbackUrl });
      if (!res || res.error || !res.ok) {
        setError(signInErrorMessage(res?.error ?? 'Unknown'));
        setBusy(false);
        return;
      }
      window.location.assign(callbackUrl);
    } catch {
      setError('Could not reach DDE. Check your connection and try again.');
      setBusy(false);
    }
  }

  const input =
    'block w-full rounded-lg border border-slate-300 bg-white px-3 py-2.5 text-sm text-slate-900 shadow-xs placeholder:text-slate-400 transition hover:border-slate-400 focus-visible:border-brand-600 focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-brand-600/30 aria-[invalid=true]:border-red-400';

  return (
    <div className="mt-8">
      {signedOut && !error ? (
        <p role="status" className="mb-5 rounded-lg border border-emerald-200 bg-emerald-50 px-3.5 py-2.5 text-sm text-emerald-800">
          You are signed out.
        </p>
      ) : null}
      {error ? (
        <div
          id={ids.error}
          role="alert"
          data-testid="sign-in-error"
          className="mb-5 flex gap-2.5 rounded-lg border border-red-200 bg-red-50 px-3.5 py-2.5 text-sm text-red-800"
        >
          <AlertIcon className="mt-0.5 size-4 shrink-0" />
          <p>{error}</p>
        </div>
      ) : null}
      {/* method="post": should scripts fail to load, a password never ends up in a URL. */}
      <form method="post" onSubmit={submit} noValidate className="space-y-5">
        <div>
          <label htmlFor={ids.email} className="block text-sm font-medium text-slate-800">
            Email
          </label>
          <input
            id={ids.email}
            name="email"
            type="email"
            autoComplete="username"
            inputMode="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? ids.error : undefined}
            className={`mt-1.5 ${input}`}
            placeholder="you@company.com"
          />
        </div>
        <div>
          <label htmlFor={ids.password} className="block text-sm font-medium text-slate-800">
            Password
          </label>
          <div className="relative mt-1.5">
            <input
              id={ids.password}
              name="password"
              type={showPassword ? 'text' : 'password'}
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? ids.error : undefined}
              className={`${input} pr-11`}
            />
            <button
              type="button"
              onClick={() => setShowPassword((v) => !v)}
              aria-pressed={showPassword}
              aria-label={showPassword ? 'Hide password' : 'Show password'}
              className="absolute inset-y-0 right-0 flex w-10 items-center justify-center rounded-r-lg text-slate-400 hover:text-slate-600"
            >
              <EyeIcon className="size-4.5" />
            </button>
          </div>
        </div>
        <button
          type="submit"
          disabled={busy}
          className="flex w-full items-center justify-center rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-xs transition hover:bg-brand-700 disabled:cursor-wait disabled:opacity-70"
        >
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {ssoName ? (
        <>
          <div className="my-6 flex items-center gap-3 text-xs text-slate-500">
            <span className="h-px flex-1 bg-slate-200" />
            or
            <span className="h-px flex-1 bg-slate-200" />
          </div>
          <button
            type="button"
            onClick={() => void signIn('oidc', { callbackUrl })}
            className="flex w-full items-center justify-center rounded-lg border border-slate-300 bg-white px-4 py-2.5 text-sm font-semibold text-slate-800 shadow-xs transition hover:bg-slate-50"
          >
            Continue with {ssoName}
          </button>
        </>
      ) : null}
      <p className="mt-8 text-xs leading-5 text-slate-500">
        Forgot your password? A Firstup Super Admin can give you a new one-time password.
      </p>
    </div>
  );
}
