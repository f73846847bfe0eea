// Replace credentials of a stopped database, S3 or Azure Blob connection: the new password, access
// key, account key or SAS token. The server runs the destination's own set-up test with it before
// saving; a failed test saves nothing and shows each step (SFTP has its own dialog with the host key:
// replace-credentials.tsx). The same endpoint serves both.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError } from '@/components/api/client';
import { Button, Dialog, ErrorNotice, Field, fieldError, inputClass, Notice } from '@/components/ui/primitives';
import type { Answer } from '@/lib/http/schemas';
import type { Connection, connectionResponse } from '@/lib/management/responses';
import { destination, replaceableSecret } from './describe';
import { refreshConnection } from './queries';

type Step = { step: string; label: string; status: string; detail?: string; error?: { message: string } };
type Values = { password: string; accessKeyId: string; secretAccessKey: string; accountKey: string; sasToken: string };
const EMPTY: Values = { password: '', accessKeyId: '', secretAccessKey: '', accountKey: '', sasToken: '' };

/** The request body for the connection's kind, and what is missing (field errors by API path). */
function bodyOf(c: Connection, v: Values): { body: Record<string, unknown>; errors: Record<string, string> } {
  const auth = (c.destination.settings as { auth?: string } | null)?.auth;
  if (c.kind === 'postgres' || c.kind === 'mysql')
    return { body: { password: v.password }, errors: v.password ? {} : { password: 'Enter the new password.' } };
  if (c.kind === 's3') {
    const errors: Record<string, string> = {};
    if (!v.accessKeyId.trim()) errors['credentials.access_key_id'] = 'Enter the access key id.';
    if (!v.secretAccessKey) errors['credentials.secret_access_key'] = 'Enter the secret access key.';
    return { body: { credentials: { access_key_id: v.accessKeyId.trim(), secret_access_key: v.secretAccessKey } }, errors };
  }
  if (auth === 'sas')
    return {
      body: { credentials: { sas_token: v.sasToken.trim() } },
      errors: v.sasToken.trim() ? {} : { 'credentials.sas_token': 'Enter the SAS token.' },
    };
  return {
    body: { credentials: { account_key: v.accountKey.trim() } },
    errors: v.accountKey.trim() ? {} : { 'credentials.account_key': 'Enter the account key.' },
  };
}

export function ReplaceSecretDialog({
  program,
  connection,
  open,
  onClose,
}: {
  program: number;
  connection: Connection;
  open: boolean;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [v, setV] = useState<Values>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const what = replaceableSecret(connection) ?? 'credentials';
  const auth = (connection.destination.settings as { auth?: string } | null)?.auth;

  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<Answer<typeof connectionResponse>>(`/api/v1/connections/${connection.id}/credentials`, program, { method: 'POST', body }),
    onSuccess: async () => {
      await refreshConnection(qc, program, connection.id);
    },
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  const steps = save.error instanceof ApiError ? ((save.error.details as { test?: { steps?: Step[] } } | null)?.test?.steps ?? null) : null;

  const close = () => {
    setV(EMPTY);
    setErrors({});
    save.reset();
    onClose();
  };
  const submit = () => {
    const { body, errors: missing } = bodyOf(connection, v);
    setErrors(missing);
    if (Object.keys(missing).length === 0) save.mutate(body);
  };
  const field = (key: keyof Values, label: string, path: string, type: 'password' | 'text' = 'password') => (
    <Field label={label} error={fieldError(errors, path)}>
      {(p) => (
        <input
          {...p}
          type={type}
          autoComplete="off"
          className={inputClass}
          value={v[key]}
          onChange={(e) => setV({ ...v, [key]: e.target.value })}
        />
      )}
    </Field>
  );

  return (
    <Dialog
      open={open}
      title={save.isSuccess ? 'Credentials replaced' : 'Replace credentials'}
      onClose={close}
      footer={
        save.isSuccess ? (
          <Button variant="primary" onClick={close}>
            Close
          </Button>
        ) : (
          <>
            <Button onClick={close}>Cancel</Button>
            <Button variant="primary" busy={save.isPending} onClick={submit}>
              Test and save
            </Button>
          </>
        )
      }
    >
      {save.isSuccess ? (
        <div data-testid="credentials-replaced">
          <Notice tone="success" title="The new credentials are saved">
            The test passed with the new {what}; DDE uses it from the next delivery. The connection is still stopped: start it when you are
            ready.
          </Notice>
        </div>
      ) : (
        <div className="space-y-4" data-testid="replace-secret">
          <p>
            Enter the new {what}. DDE runs the destination’s test with it before saving it; nothing changes when the test fails. The
            destination stays as it is:
          </p>
          <p className="rounded-lg bg-slate-50 px-3 py-2 font-mono text-xs break-all text-slate-900">{destination(connection)}</p>
          {connection.kind === 'postgres' || connection.kind === 'mysql' ? field('password', 'New password', 'password') : null}
          {connection.kind === 's3' ? (
            <>
              {field('accessKeyId', 'Access key id', 'credentials.access_key_id', 'text')}
              {field('secretAccessKey', 'Secret access key', 'credentials.secret_access_key')}
            </>
          ) : null}
          {connection.kind === 'azure_blob'
            ? auth === 'sas'
              ? field('sasToken', 'New SAS token', 'credentials.sas_token')
              : field('accountKey', 'New account key', 'credentials.account_key')
            : null}
          {steps ? (
            <ol className="space-y-2 text-sm" data-testid="rotation-test-steps">
              {steps.map((s) => (
                <li
                  key={s.step}
                  className={s.status === 'failed' ? 'text-red-700' : s.status === 'ok' ? 'text-slate-800' : 'text-slate-400'}
                >
                  <span className="font-medium">
                    {s.status === 'ok' ? '✓' : s.status === 'failed' ? '✗' : '–'} {s.label}
                  </span>
                  {s.detail ? <span className="text-slate-500"> · {s.detail}</span> : null}
                  {s.error ? <p className="mt-0.5 font-mono text-xs break-words">{s.error.message}</p> : null}
                </li>
              ))}
            </ol>
          ) : null}
          {save.isError ? <ErrorNotice title="The credentials were not replaced" error={save.error} /> : null}
        </div>
      )}
    </Dialog>
  );
}
