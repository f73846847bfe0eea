// Set Up SFTP › Encryption: an optional OpenPGP public key of the customer. Once pasted, the server
// reads it (POST /api/v1/connections/pgp-key) and shows its fingerprint and user IDs; the admin
// confirms them with the key's owner, as the server's host key. Data files are then delivered
// encrypted to it as <name>.gz.pgp.
'use client';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api, ApiError } from '@/components/api/client';
import { dateStr } from '@/components/ui/formatters';
import { fieldError, Field, inputClass, Notice, Spinner } from '@/components/ui/primitives';
import type { PgpKey } from '@/lib/management/responses';
import type { Answer } from '@/lib/http/schemas';
import type { pgpKeyResponse } from '@/lib/management/responses';

export type PgpKeyChoice = {
  /** What the admin pasted ('' = no encryption). */
  armored: string;
  /** The key as the server read it, once it did. */
  key: PgpKey | null;
  confirmed: boolean;
};

export const NO_PGP_KEY: PgpKeyChoice = { armored: '', key: null, confirmed: false };

const PRIVATE_KEY_BLOCK = /-----BEGIN PGP PRIVATE KEY BLOCK-----/;
const PRIVATE_KEY_MESSAGE = 'This is a private key. Paste the public key only (gpg --armor --export <you@example.com>).';

/** Problems that stop Save: a key pasted but not (yet) readable, or not confirmed. */
export function checkPgpKey(v: PgpKeyChoice): Record<string, string> {
  if (!v.armored.trim()) return {};
  if (PRIVATE_KEY_BLOCK.test(v.armored)) return { pgp_public_key: PRIVATE_KEY_MESSAGE };
  if (!v.key) return { pgp_public_key: 'This OpenPGP key could not be checked yet; fix it or clear the field.' };
  if (!v.confirmed) return { pgp_key_fingerprint: 'Confirm that the fingerprint is the customer’s key.' };
  return {};
}

/** The create body's key fields (none without a key). */
export function pgpKeyBody(v: PgpKeyChoice): { pgp_public_key?: string; pgp_key_fingerprint?: string } {
  return v.armored.trim() && v.key ? { pgp_public_key: v.armored, pgp_key_fingerprint: v.key.fingerprint } : {};
}

export function PgpKeyField({
  program,
  value,
  onChange,
  errors,
  replacing = false,
}: {
  program: number;
  value: PgpKeyChoice;
  onChange: (v: PgpKeyChoice) => void;
  errors: Record<string, string>;
  /** For a connection's new key (Replace OpenPGP key): required, and no "leave empty" choice. */
  replacing?: boolean;
}) {
  const latest = useRef(value.armored);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [privateKey, setPrivateKey] = useState(false);
  const check = useMutation({
    mutationFn: (armored: string) =>
      api<Answer<typeof pgpKeyResponse>>('/api/v1/connections/pgp-key', program, { method: 'POST', body: { public_key: armored } }),
    onSuccess: (r, armored) => {
      // An answer for text that has changed since is stale.
      if (armored === latest.current) onChange({ armored, key: r.data, confirmed: false });
    },
  });
  const { mutate, reset } = check;
  useEffect(() => () => clearTimeout(timer.current), []);

  // Checked once pasting is done: a moment after the last change.
  const edit = (armored: string) => {
    latest.current = armored;
    onChange({ armored, key: null, confirmed: false });
    clearTimeout(timer.current);
    // A private key never leaves the browser: it is refused here, not sent to be checked.
    const secret = PRIVATE_KEY_BLOCK.test(armored);
    setPrivateKey(secret);
    if (!armored.trim() || secret) reset();
    else timer.current = setTimeout(() => mutate(armored), 400);
  };

  const checkError = privateKey
    ? PRIVATE_KEY_MESSAGE
    : check.isError && check.variables === value.armored
      ? check.error instanceof ApiError
        ? (check.error.fields.public_key ?? check.error.message)
        : 'The key could not be checked. Try again.'
      : undefined;
  const key = value.key;

  return (
    <div className="space-y-4" data-testid="pgp-key">
      <Field
        label={replacing ? 'New OpenPGP public key' : 'OpenPGP public key'}
        optional={!replacing}
        error={checkError ?? fieldError(errors, 'pgp_public_key')}
        hint={
          <>
            Paste the customer’s armored public key (<span className="font-mono">gpg --armor --export you@example.com</span>) to deliver the
            data files encrypted to it, as <span className="font-mono">&lt;name&gt;.gz.pgp</span>.
            {replacing ? ' It is used from the next delivery.' : ' Leave empty to deliver them as they are.'}
          </>
        }
      >
        {(p) => (
          <textarea
            {...p}
            value={value.armored}
            onChange={(e) => edit(e.target.value)}
            rows={5}
            className={`${inputClass} font-mono text-xs`}
            placeholder="-----BEGIN PGP PUBLIC KEY BLOCK-----"
            spellCheck={false}
            autoComplete="off"
          />
        )}
      </Field>
      {check.isPending ? (
        <p className="flex items-center gap-2 text-xs text-slate-600" role="status">
          <Spinner className="size-3.5" /> Reading the key…
        </p>
      ) : null}
      {key ? (
        <div className="rounded-lg border border-slate-200 px-3 py-3">
          <p className="text-xs font-medium text-slate-500">OpenPGP key fingerprint</p>
          <p className="mt-1 font-mono text-sm text-slate-900" data-testid="pgp-key-fingerprint">
            {key.fingerprint}
          </p>
          <ul className="mt-2 space-y-0.5 text-sm break-words text-slate-800" aria-label="User IDs of the key">
            {key.user_ids.map((u) => (
              <li key={u}>{u}</li>
            ))}
          </ul>
          <p className="mt-1 text-xs text-slate-500">{key.expires_at ? `Expires on ${dateStr(key.expires_at)}.` : 'Does not expire.'}</p>
          <label className="mt-3 flex items-start gap-2 text-sm text-slate-800">
            <input
              type="checkbox"
              checked={value.confirmed}
              onChange={(e) => onChange({ ...value, confirmed: e.target.checked })}
              className="mt-0.5 size-4 accent-brand-600"
            />
            I confirm this is the customer’s key
          </label>
          <p className="mt-1 text-xs text-slate-500">
            Compare it with the fingerprint the key’s owner reads from <span className="font-mono">gpg --fingerprint</span>. Only the holder
            of the matching private key can read the files.
          </p>
          {fieldError(errors, 'pgp_key_fingerprint') ? (
            <p className="mt-2 text-xs text-red-700" role="alert">
              {fieldError(errors, 'pgp_key_fingerprint')}
            </p>
          ) : null}
        </div>
      ) : null}
      {key?.expires_at ? (
        <Notice tone="warning">
          Deliveries stop when this key expires on {dateStr(key.expires_at)}: before then, stop the connection and replace the key with the
          renewed one (Replace OpenPGP key).
        </Notice>
      ) : null}
    </div>
  );
}
