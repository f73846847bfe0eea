// Replace credentials (a stopped SFTP connection): a new password, or a new private key and
// passphrase, tested against the connection's unchanged destination in the same two steps as at
// set-up — the host key first; if it differs from the pinned one the admin must confirm the change
// explicitly — then saved; the server tests them again before it stores them.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError } from '@/components/api/client';
import type { Connection, TestReport } from '@/lib/management/responses';
import { Button, Dialog, ErrorNotice, Notice } from '@/components/ui/primitives';
import { CredentialFields, checkCredentials, credentialsBody, type Credentials } from './credential-fields';
import { TestSteps } from './connection-test';
import { refreshConnection } from './queries';
import type { Answer } from '@/lib/http/schemas';
import type { connectionResponse, testReportResponse } from '@/lib/management/responses';

type Secret = Credentials;

const EMPTY: Secret = { method: 'password', password: '', key: '', passphrase: '' };

export function ReplaceCredentialsDialog({
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
  const sftp = connection.sftp!;
  const pinned = sftp.host_key_fingerprint;
  const [secret, setSecret] = useState<Secret>({ ...EMPTY, method: sftp.auth_method ?? 'password' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  // The host key the server presented in step one, the report of the last step, and the admin's confirmation of a changed key.
  const [seen, setSeen] = useState<string | null>(null);
  const [report, setReport] = useState<TestReport | null>(null);
  const [acceptChange, setAcceptChange] = useState(false);

  const changed = seen !== null && seen !== pinned;
  const tested = report?.phase === 'complete' && report.ok && seen !== null && (!changed || acceptChange);

  const reset = () => {
    setSeen(null);
    setReport(null);
    setAcceptChange(false);
  };
  const set = (patch: Partial<Secret>) => {
    setSecret((s) => ({ ...s, ...patch }));
    // Another secret needs a new test.
    reset();
  };

  const test = useMutation({
    mutationFn: (fingerprint?: string) =>
      api<Answer<typeof testReportResponse>>('/api/v1/connections/test', program, {
        method: 'POST',
        body: {
          host: sftp.host,
          port: sftp.port,
          username: sftp.username,
          folder: sftp.folder,
          auth: credentialsBody(secret),
          ...(fingerprint ? { host_key_fingerprint: fingerprint } : {}),
        },
      }),
    onSuccess: (r, fingerprint) => {
      setReport(r.data);
      if (fingerprint) return;
      const key = r.data.phase === 'host_key' && r.data.ok ? (r.data.hostKeyFingerprint ?? null) : null;
      setSeen(key);
      // The key the connection already trusts: sign in with it straight away.
      if (key && key === pinned) test.mutate(key);
    },
    onError: (e) => {
      reset();
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });

  const save = useMutation({
    // The variable is whether the host key changed, kept for the confirmation (the connection then pins the new key).
    mutationFn: (_keyChanged: boolean) =>
      api<Answer<typeof connectionResponse>>(`/api/v1/connections/${connection.id}/credentials`, program, {
        method: 'POST',
        body: {
          auth: credentialsBody(secret),
          host_key_fingerprint: seen,
          ...(changed ? { accept_changed_host_key: true } : {}),
        },
      }),
    onSuccess: async () => {
      await refreshConnection(qc, program, connection.id);
    },
    onError: (e) => {
      if (e instanceof ApiError) {
        setErrors(e.fields);
        const t = (e.details as { test?: TestReport } | null)?.test;
        if (t && Array.isArray(t.steps)) setReport(t);
      }
    },
  });

  const close = () => {
    setSecret({ ...EMPTY, method: sftp.auth_method ?? 'password' });
    setErrors({});
    reset();
    test.reset();
    save.reset();
    onClose();
  };

  function runTest() {
    const e = checkCredentials(secret, 'Enter the new password.');
    setErrors(e);
    reset();
    if (Object.keys(e).length === 0) test.mutate(undefined);
  }

  const done = save.isSuccess;
  return (
    <Dialog
      open={open}
      title={done ? 'Credentials replaced' : 'Replace credentials'}
      onClose={close}
      footer={
        done ? (
          <Button variant="primary" onClick={close}>
            Close
          </Button>
        ) : (
          <>
            <Button onClick={close}>Cancel</Button>
            <Button variant="primary" disabled={!tested} busy={save.isPending} onClick={() => save.mutate(changed)}>
              Save new credentials
            </Button>
          </>
        )
      }
    >
      {done ? (
        <div data-testid="credentials-replaced">
          <Notice tone="success" title="The new credentials are saved">
            DDE signs in with the new {secret.method === 'password' ? 'password' : 'private key'} from the next delivery
            {save.variables ? ' and expects the new host key' : ''}. The connection is still stopped: start it when you are ready.
          </Notice>
        </div>
      ) : (
        <div className="space-y-4" data-testid="replace-credentials">
          <p>
            Enter the new password, or the new private key. DDE tests it against the same server before saving it; the server, folder and
            username stay as they are.
          </p>
          <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1 rounded-lg bg-slate-50 px-3 py-2 text-xs">
            <dt className="text-slate-500">Server</dt>
            <dd className="font-mono break-all text-slate-900">{`${sftp.username}@${sftp.host}:${sftp.port}`}</dd>
            <dt className="text-slate-500">Folder</dt>
            <dd className="font-mono break-all text-slate-900">{sftp.folder}</dd>
            <dt className="text-slate-500">Host key</dt>
            <dd className="font-mono break-all text-slate-900">{pinned ?? '—'}</dd>
          </dl>

          <CredentialFields value={secret} onChange={set} errors={errors} radioName="rotate-auth-method" replacing />

          <div className="border-t border-slate-100 pt-4">
            <Button onClick={runTest} busy={test.isPending}>
              Test connection
            </Button>
            {test.isError ? (
              <div className="mt-3">
                <ErrorNotice title="The test could not run" error={test.error} />
              </div>
            ) : null}
            {changed ? (
              <div className="mt-3 space-y-2" data-testid="host-key-changed">
                <Notice tone="warning" title="The server’s host key has changed">
                  <p>Confirm only if your server administrator replaced the key; otherwise someone may be intercepting the connection.</p>
                  <dl className="mt-2 space-y-1 text-xs">
                    <div>
                      <dt className="font-medium">Pinned key</dt>
                      <dd className="font-mono break-all">{pinned}</dd>
                    </div>
                    <div>
                      <dt className="font-medium">Key the server presents now</dt>
                      <dd className="font-mono break-all" data-testid="new-host-key">
                        {seen}
                      </dd>
                    </div>
                  </dl>
                </Notice>
                <label className="flex items-start gap-2 text-sm text-slate-800">
                  <input
                    type="checkbox"
                    checked={acceptChange}
                    onChange={(e) => {
                      setAcceptChange(e.target.checked);
                      if (e.target.checked) test.mutate(seen);
                      else setReport(null);
                    }}
                    className="mt-0.5 size-4 accent-brand-600"
                  />
                  The key was replaced: trust the new key from now on
                </label>
              </div>
            ) : null}
            {report && report.phase === 'complete' ? (
              <div className="mt-3 space-y-3" data-testid="rotation-test-result">
                <Notice tone={report.ok ? 'success' : 'warning'} title={report.ok ? 'Connection test passed' : 'Connection test failed'}>
                  {report.ok
                    ? 'DDE signed in with the new credentials and wrote a test file to the folder.'
                    : (report.error?.message ?? report.steps.find((s) => s.status === 'failed')?.error?.message)}
                </Notice>
                <TestSteps result={report} />
              </div>
            ) : report && !report.ok ? (
              <div className="mt-3">
                <Notice tone="warning" title="Connection test failed">
                  {report.error?.message ?? report.steps.find((s) => s.status === 'failed')?.error?.message}
                </Notice>
              </div>
            ) : null}
          </div>
          {save.isError ? <ErrorNotice title="The credentials were not replaced" error={save.error} /> : null}
        </div>
      )}
    </Dialog>
  );
}
