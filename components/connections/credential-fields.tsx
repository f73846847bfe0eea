// The SFTP sign-in fields — password, or private key (pasted or from a file) and passphrase — shared
// by Set Up SFTP and Replace credentials, with the body they send and the checks before sending.
'use client';
import { useState } from 'react';
import { Field, fieldError, inputClass } from '@/components/ui/primitives';

export type Credentials = { method: 'password' | 'private_key'; password: string; key: string; passphrase: string };

/** The `auth` object of the management API. */
export function credentialsBody(c: Credentials) {
  return c.method === 'password'
    ? { method: 'password', password: c.password }
    : { method: 'private_key', private_key: c.key, ...(c.passphrase ? { passphrase: c.passphrase } : {}) };
}

/** What is missing before the credentials can be sent (field errors by API path). */
export function checkCredentials(c: Credentials, passwordMessage = 'Enter the password.'): Record<string, string> {
  if (c.method === 'password' && !c.password) return { 'auth.password': passwordMessage };
  if (c.method === 'private_key' && !/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(c.key))
    return { 'auth.private_key': 'Paste or upload a private key in PEM format (-----BEGIN … PRIVATE KEY-----).' };
  return {};
}

export function CredentialFields({
  value,
  onChange,
  errors,
  radioName,
  replacing = false,
}: {
  value: Credentials;
  onChange: (patch: Partial<Credentials>) => void;
  errors: Record<string, string>;
  /** The radio group's name (unique on the page). */
  radioName: string;
  /** Labels say "New password" / "New private key". */
  replacing?: boolean;
}) {
  // The file a key was loaded from, while the field still holds that file's text.
  const [loaded, setLoaded] = useState<{ name: string; text: string } | null>(null);
  const keyFile = loaded && loaded.text === value.key ? loaded.name : null;
  const input = (k: 'password' | 'key' | 'passphrase') => ({
    value: value[k],
    onChange: (e: { target: { value: string } }) => onChange({ [k]: e.target.value }),
  });
  return (
    <fieldset className={replacing ? undefined : 'mt-5'}>
      <legend className="text-sm font-medium text-slate-800">Authentication</legend>
      <div className="mt-2 flex flex-wrap gap-4">
        {(
          [
            ['password', 'Password'],
            ['private_key', 'Private key (PEM)'],
          ] as const
        ).map(([v, l]) => (
          <label key={v} className="flex items-center gap-2 text-sm text-slate-800">
            <input
              type="radio"
              name={radioName}
              value={v}
              checked={value.method === v}
              onChange={() => onChange({ method: v })}
              className="size-4 accent-brand-600"
            />
            {l}
          </label>
        ))}
      </div>
      <div className={replacing ? 'mt-3 space-y-4' : 'mt-4 space-y-5'}>
        {value.method === 'password' ? (
          <Field
            label={replacing ? 'New password' : 'Password'}
            error={fieldError(errors, 'auth.password') ?? fieldError(errors, 'auth')}
            hint="Stored encrypted; never shown again."
          >
            {(p) => <input {...p} {...input('password')} type="password" className={inputClass} autoComplete="new-password" />}
          </Field>
        ) : (
          <>
            <Field
              label={replacing ? 'New private key' : 'Private key'}
              error={fieldError(errors, 'auth.private_key') ?? fieldError(errors, 'auth')}
              hint={
                keyFile
                  ? `Loaded from ${keyFile}. Stored encrypted; never shown again.`
                  : 'Paste the key, or choose its file below. Stored encrypted; never shown again.'
              }
            >
              {(p) => (
                <textarea
                  {...p}
                  {...input('key')}
                  rows={replacing ? 4 : 5}
                  className={`${inputClass} font-mono text-xs`}
                  placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"
                  spellCheck={false}
                />
              )}
            </Field>
            <Field label="Private key file" optional>
              {(p) => (
                <input
                  {...p}
                  type="file"
                  className="mt-1.5 block w-full text-sm text-slate-700 file:mr-3 file:rounded-lg file:border-0 file:bg-slate-100 file:px-3 file:py-2 file:text-sm file:font-semibold file:text-slate-800 hover:file:bg-slate-200"
                  onChange={(e) => {
                    const f = e.target.files?.[0];
                    if (!f) return;
                    void f.text().then((text) => {
                      setLoaded({ name: f.name, text });
                      onChange({ key: text });
                    });
                  }}
                />
              )}
            </Field>
            <Field label="Key passphrase" optional error={fieldError(errors, 'auth.passphrase')}>
              {(p) => <input {...p} {...input('passphrase')} type="password" className={inputClass} autoComplete="off" />}
            </Field>
          </>
        )}
      </div>
    </fieldset>
  );
}
