'use client';
// Change-password form: current password, new password twice; field errors from the server shown inline.
import { useRouter } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { AlertIcon } from '@/components/ui/icons';
import type { ErrorResponse, FieldError } from '@/lib/http/schemas';

type FieldErrors = Partial<Record<'current_password' | 'new_password' | 'confirm', string>>;

export function ChangePasswordForm({ required }: { required: boolean }) {
  const [values, setValues] = useState({ current_password: '', new_password: '', confirm: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const router = useRouter();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setMessage(null);
    if (values.new_password !== values.confirm) {
      setErrors({ confirm: 'The two new passwords do not match.' });
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const res = await fetch('/api/account/password', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ current_password: values.current_password, new_password: values.new_password }),
      });
      if (res.ok) {
        if (required) {
          router.replace('/');
          router.refresh();
          return;
        }
        setValues({ current_password: '', new_password: '', confirm: '' });
        setMessage({ kind: 'ok', text: 'Your password has been changed.' });
      } else {
        const body = (await res.json().catch(() => null)) as Partial<ErrorResponse> | null;
        const fields = (body?.error?.details as { fields?: FieldError[] } | undefined)?.fields ?? [];
        if (fields.length) setErrors(Object.fromEntries(fields.map((f) => [f.path, f.message])));
        else setMessage({ kind: 'error', text: body?.error?.message ?? 'The password could not be changed.' });
      }
    } catch {
      setMessage({ kind: 'error', text: 'Could not reach DDE. Check your connection and try again.' });
    } finally {
      setBusy(false);
    }
  }

  const field = (name: keyof typeof values, label: string, autoComplete: string, hint?: string) => {
    const fieldId = `${id}-${name}`;
    const err = errors[name];
    return (
      <div>
        <label htmlFor={fieldId} className="block text-sm font-medium text-slate-800">
          {label}
        </label>
        <input
          id={fieldId}
          type="password"
          autoComplete={autoComplete}
          value={values[name]}
          onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
          aria-invalid={err ? true : undefined}
          aria-describedby={err ? `${fieldId}-error` : hint ? `${fieldId}-hint` : undefined}
          className="mt-1.5 block w-full rounded-lg border border-slate-300 px-3 py-2.5 text-sm shadow-xs hover:border-slate-400 focus-visible:border-brand-600 aria-[invalid=true]:border-red-400"
        />
        {err ? (
          <p id={`${fieldId}-error`} className="mt-1.5 text-xs text-red-700">
            {err}
          </p>
        ) : hint ? (
          <p id={`${fieldId}-hint`} className="mt-1.5 text-xs text-slate-500">
            {hint}
          </p>
        ) : null}
      </div>
    );
  };

  return (
    <form method="post" onSubmit={submit} noValidate className="space-y-5">
      {message ? (
        <div
          role={message.kind === 'error' ? 'alert' : 'status'}
          className={`flex gap-2.5 rounded-lg border px-3.5 py-2.5 text-sm ${message.kind === 'error' ? 'border-red-200 bg-red-50 text-red-800' : 'border-emerald-200 bg-emerald-50 text-emerald-800'}`}
        >
          {message.kind === 'error' ? <AlertIcon className="mt-0.5 size-4 shrink-0" /> : null}
          <p>{message.text}</p>
        </div>
      ) : null}
      {field('current_password', required ? 'One-time password' : 'Current password', 'current-password')}
      {field('new_password', 'New password', 'new-password', 'At least 12 characters.')}
      {field('confirm', 'Repeat new password', 'new-password')}
      <button
        type="submit"
        disabled={busy}
        className="rounded-lg bg-brand-600 px-4 py-2.5 text-sm font-semibold text-white shadow-xs transition hover:bg-brand-700 disabled:opacity-70"
      >
        {busy ? 'Saving…' : 'Save password'}
      </button>
    </form>
  );
}
