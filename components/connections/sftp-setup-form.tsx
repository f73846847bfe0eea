// Set Up SFTP: schedule, server, credentials and contacts; "Test connection" shows each step and the
// host key to confirm; optionally the customer's OpenPGP key (its fingerprint confirmed likewise);
// Save creates the connection (the server tests it again) and shows the result.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import type { Connection, TestReport } from '@/lib/management/responses';
import { CONNECTIONS_PATH } from './paths';
import { connectionName } from './describe';
import { todayIso } from '@/components/ui/formatters';
import { describeServerAddress, namesMoreThanHost, parseServerAddress, resolveServerAddress } from '@/lib/connections/server-address';
import { checkSchedule, EgressInfo, ScheduleFields, scheduleBody, SetupFormButtons, type Schedule } from './setup-fields';
import { checkPgpKey, NO_PGP_KEY, PgpKeyField, pgpKeyBody, type PgpKeyChoice } from './pgp-key-field';
import { CredentialFields, checkCredentials, credentialsBody } from './credential-fields';
import { fieldError, Button, Card, ErrorNotice, Field, inputClass, Notice, StatusBadge } from '@/components/ui/primitives';

type Server = {
  host: string;
  port: string;
  folder: string;
  username: string;
  method: 'password' | 'private_key';
  password: string;
  key: string;
  passphrase: string;
};

/**
 * The server field split into the fields a pasted address names (sftp://user@host:2222/folder), with
 * what was understood; or the field with the problem. The same rule as the API's
 * (lib/connections/server-address.ts). The port field counts as given only once the admin changed it.
 */
function splitServer(s: Server, portTouched: boolean): { server: Server; note: string | null } | { field: string; message: string } {
  const port = portTouched && /^\d+$/.test(s.port.trim()) ? Number(s.port) : undefined;
  const r = resolveServerAddress({ host: s.host, port, folder: s.folder, username: s.username });
  if (!r.ok) return r.problem;
  if (!namesMoreThanHost(s.host, r.address)) return { server: s, note: null };
  return {
    server: {
      ...s,
      host: r.server.host,
      port: String(r.server.port),
      folder: r.address.folder ?? s.folder,
      username: r.address.username ?? s.username,
    },
    note: describeServerAddress(r.server),
  };
}

/** The fields a pasted server address fills in (its refusal is shown on one of them). */
const ADDRESS_FIELDS = ['host', 'port', 'folder', 'username'];

function checkServer(s: Server): Record<string, string> {
  const e: Record<string, string> = {};
  const address = parseServerAddress(s.host);
  if (!address.ok) e.host = address.problem;
  const port = Number(s.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) e.port = 'Enter a port between 1 and 65535.';
  if (!s.folder.trim()) e.folder = 'Enter the destination folder.';
  if (!s.username.trim()) e.username = 'Enter the user name.';
  return { ...e, ...checkCredentials(s) };
}

/** Each step of a connection test with its outcome (the set-up form and Replace credentials). */
export function TestSteps({ result }: { result: TestReport }) {
  return (
    <ol className="space-y-2" aria-label="Connection test steps" data-testid="test-steps">
      {result.steps.map((s) => (
        <li key={s.step} className="flex items-start gap-3 rounded-lg bg-slate-50 px-3 py-2">
          <StatusBadge status={s.status} label={s.status === 'ok' ? 'Passed' : s.status === 'failed' ? 'Failed' : 'Skipped'} />
          <div className="min-w-0 text-sm">
            <p className="font-medium text-slate-900">{s.label}</p>
            {s.detail ? <p className="text-xs break-words text-slate-600">{s.detail}</p> : null}
            {s.error ? <p className="text-xs break-words text-red-700">{s.error.message}</p> : null}
          </div>
        </li>
      ))}
    </ol>
  );
}

const testError = (r: TestReport) =>
  (typeof r.error === 'string' ? r.error : r.error?.message) ?? r.steps.find((s) => s.status === 'failed')?.error?.message;

export function SftpSetupForm({ program, programName }: { program: number; programName: string }) {
  const qc = useQueryClient();
  const [schedule, setSchedule] = useState<Schedule>({
    name: '',
    start: todayIso(),
    end: '',
    frequency: 'daily',
    format: 'csv',
    emails: '',
  });
  const [server, setServer] = useState<Server>({
    host: '',
    port: '22',
    folder: '',
    username: '',
    method: 'password',
    password: '',
    key: '',
    passphrase: '',
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [test, setTest] = useState<TestReport | null>(null);
  const [confirmed, setConfirmed] = useState(false);
  const [pgp, setPgp] = useState<PgpKeyChoice>(NO_PGP_KEY);
  const [portTouched, setPortTouched] = useState(false);
  // What the last pasted address was understood as, shown under the server field once it is split.
  const [addressNote, setAddressNote] = useState<string | null>(null);

  const setS = (patch: Partial<Server>) => {
    setServer((s) => ({ ...s, ...patch }));
    // A different server or account needs a new test and a new confirmation of its key.
    setTest(null);
    setConfirmed(false);
  };
  const input = (k: keyof Server) => ({
    value: server[k],
    onChange: (e: { target: { value: string } }) => {
      if (k === 'host') {
        setAddressNote(null);
        setErrors(({ host: _h, ...rest }) => rest);
      }
      if (k === 'port') setPortTouched(true);
      setS({ [k]: e.target.value } as Partial<Server>);
    },
  });

  /** Splits a pasted address into the fields (on leaving the field, and before a test or save); null when it has a problem. */
  const applyAddress = (): Server | null => {
    const split = splitServer(server, portTouched);
    if ('field' in split) {
      // A port conflict is shown under the wide server field, where the address was just pasted.
      const field = split.field === 'port' ? 'host' : split.field;
      setErrors(({ host: _h, port: _p, folder: _f, username: _u, ...rest }) => ({ ...rest, [field]: split.message }));
      return null;
    }
    if (split.note) {
      setAddressNote(split.note);
      setS(split.server);
      setErrors(({ host: _h, port: _p, folder: _f, username: _u, ...rest }) => rest);
    } else setErrors(({ host: _h, ...rest }) => rest);
    return split.server;
  };
  const preview = (() => {
    const split = splitServer(server, portTouched);
    return 'note' in split ? split.note : null;
  })();
  const note = preview ?? addressNote;

  // Two steps: first only the host key (nothing is sent to the server); once the admin confirms it, sign-in and the folder.
  const testMutation = useMutation({
    mutationFn: ({ s, fingerprint }: { s: Server; fingerprint?: string }) =>
      api<{ data: TestReport }>('/api/v1/connections/test', program, {
        method: 'POST',
        body: {
          host: s.host.trim(),
          port: Number(s.port),
          username: s.username.trim(),
          folder: s.folder.trim(),
          auth: credentialsBody(s),
          ...(fingerprint ? { host_key_fingerprint: fingerprint } : {}),
        },
      }),
    onSuccess: (r, { fingerprint }) => {
      setTest(r.data);
      setConfirmed(Boolean(fingerprint));
    },
    onError: (e) => {
      setTest(null);
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });

  const save = useMutation({
    mutationFn: (s: Server) =>
      api<{ data: Connection }>('/api/v1/connections', program, {
        method: 'POST',
        body: {
          kind: 'sftp',
          ...scheduleBody(schedule),
          host: s.host.trim(),
          port: Number(s.port),
          folder: s.folder.trim(),
          username: s.username.trim(),
          auth: credentialsBody(s),
          host_key_fingerprint: test?.hostKeyFingerprint,
          ...pgpKeyBody(pgp),
        },
      }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['connections', program] }),
    onError: (e) => {
      if (e instanceof ApiError) {
        setErrors(e.fields);
        const t = (e.details as { test?: TestReport } | null)?.test;
        if (t && Array.isArray(t.steps)) setTest(t);
      }
    },
  });

  function runTest() {
    const s = applyAddress();
    if (!s) return;
    const e = checkServer(s);
    setErrors(e);
    if (Object.keys(e).length === 0) testMutation.mutate({ s });
  }

  function submit(ev: FormEvent) {
    ev.preventDefault();
    const s = applyAddress();
    if (!s) {
      // The address was refused (its message is under the server field): still say what else is missing.
      setErrors((shown) => {
        const address = Object.fromEntries(Object.entries(shown).filter(([k]) => ADDRESS_FIELDS.includes(k)));
        return { ...checkSchedule(schedule), ...checkServer(server), ...checkPgpKey(pgp), ...address };
      });
      return;
    }
    const e = { ...checkSchedule(schedule), ...checkServer(s), ...checkPgpKey(pgp) };
    if (Object.keys(e).length === 0 && !(test?.ok && test.hostKeyFingerprint))
      e.test = 'Test the connection first, then confirm the server’s host key.';
    else if (Object.keys(e).length === 0 && !confirmed) e.test = 'Confirm that the host key fingerprint is your server’s key.';
    setErrors(e);
    if (Object.keys(e).length === 0) save.mutate(s);
  }

  if (save.isSuccess) {
    const c = save.data.data;
    return (
      <div className="mx-auto max-w-2xl space-y-6" data-testid="sftp-created">
        <div className="rounded-xl border border-emerald-200 bg-emerald-50 px-5 py-6 text-center">
          <p className="text-lg font-semibold text-emerald-900" role="status">
            SFTP Connection Active
          </p>
          <p className="mt-1 text-sm text-emerald-800">
            {connectionName(c)} exports {programName}’s data to {c.sftp?.host}:{c.sftp?.port}/{c.sftp?.folder}. The first delivery arrives
            after the first window closes; the contacts receive an email confirming the set-up.
          </p>
          {c.sftp?.pgp_key ? (
            <p className="mt-2 text-sm break-words text-emerald-800">
              Data files are encrypted to OpenPGP key <span className="font-mono">{c.sftp.pgp_key.fingerprint}</span>.
            </p>
          ) : null}
          <div className="mt-4 flex flex-wrap justify-center gap-2">
            <Link
              href={`${CONNECTIONS_PATH}/${c.id}`}
              className="inline-flex rounded-lg bg-brand-600 px-3.5 py-2 text-sm font-semibold text-white shadow-xs hover:bg-brand-700"
            >
              View connection
            </Link>
            <Link
              href={CONNECTIONS_PATH}
              className="inline-flex rounded-lg bg-white px-3.5 py-2 text-sm font-semibold text-slate-800 shadow-xs ring-1 ring-slate-300 ring-inset hover:bg-slate-50"
            >
              Back to connections
            </Link>
          </div>
        </div>
      </div>
    );
  }

  const saveProblem = save.isError ? save.error : null;

  return (
    <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,1fr)_18rem]">
      <div className="space-y-6">
        <Card title="Schedule">
          <ScheduleFields value={schedule} onChange={setSchedule} errors={errors} />
        </Card>

        <Card title="SFTP server">
          <div className="grid grid-cols-1 gap-5 sm:grid-cols-[minmax(0,1fr)_8rem]">
            <Field
              label="Server host"
              error={fieldError(errors, 'host')}
              hint={
                note ? (
                  <span
                    className="inline-flex items-start gap-1 font-medium text-emerald-800"
                    role="status"
                    data-testid="server-address-note"
                  >
                    <svg
                      aria-hidden
                      viewBox="0 0 20 20"
                      className="mt-px size-3.5 shrink-0"
                      fill="none"
                      stroke="currentColor"
                      strokeWidth={2.2}
                      strokeLinecap="round"
                      strokeLinejoin="round"
                    >
                      <path d="M4.5 10.5l3.5 3.5 7.5-8" />
                    </svg>
                    {note}
                  </span>
                ) : (
                  'Host name or IP address, e.g. sftp.example.com; a pasted sftp://host:port/folder address is split for you.'
                )
              }
            >
              {(p) => (
                <input
                  {...p}
                  {...input('host')}
                  onBlur={() => {
                    if (server.host.trim()) applyAddress();
                  }}
                  className={inputClass}
                  autoComplete="off"
                  spellCheck={false}
                />
              )}
            </Field>
            <Field label="Port" error={fieldError(errors, 'port')}>
              {(p) => <input {...p} {...input('port')} type="number" min={1} max={65535} inputMode="numeric" className={inputClass} />}
            </Field>
            <Field
              label="Destination folder"
              className="sm:col-span-2"
              error={fieldError(errors, 'folder')}
              hint="The folder on the server that receives the files; it must exist and be writable."
            >
              {(p) => (
                <input
                  {...p}
                  {...input('folder')}
                  className={inputClass}
                  placeholder="exports/firstup"
                  autoComplete="off"
                  spellCheck={false}
                />
              )}
            </Field>
            <Field label="Username" className="sm:col-span-2" error={fieldError(errors, 'username')}>
              {(p) => <input {...p} {...input('username')} className={inputClass} autoComplete="off" spellCheck={false} />}
            </Field>
          </div>
          <CredentialFields value={server} onChange={setS} errors={errors} radioName="auth-method" />

          <div className="mt-6 border-t border-slate-100 pt-5">
            <div className="flex flex-wrap items-center gap-3">
              <Button onClick={runTest} busy={testMutation.isPending}>
                Test connection
              </Button>
              <p className="text-xs text-slate-500">
                Connects and shows the server’s host key; once you confirm it, signs in and writes a small test file to the folder.
              </p>
            </div>
            {testMutation.isError ? (
              <div className="mt-4">
                <ErrorNotice title="The test could not run" error={testMutation.error} />
              </div>
            ) : null}
            {test ? (
              <div className="mt-4 space-y-4" data-testid="test-result">
                {(test as { phase?: string }).phase === 'host_key' && test.ok ? (
                  <Notice tone="success" title="Host key received">
                    Confirm the fingerprint below: DDE then signs in and checks the folder. Nothing was sent to the server yet.
                  </Notice>
                ) : (
                  <Notice tone={test.ok ? 'success' : 'warning'} title={test.ok ? 'Connection test passed' : 'Connection test failed'}>
                    {test.ok ? null : testError(test)}
                  </Notice>
                )}
                <TestSteps result={test} />
                {test.hostKeyFingerprint ? (
                  <div className="rounded-lg border border-slate-200 px-3 py-3">
                    <p className="text-xs font-medium text-slate-500">Host key fingerprint</p>
                    <p className="mt-1 font-mono text-sm break-all text-slate-900" data-testid="host-key-fingerprint">
                      {test.hostKeyFingerprint}
                    </p>
                    <label className="mt-3 flex items-start gap-2 text-sm text-slate-800">
                      <input
                        type="checkbox"
                        checked={confirmed}
                        onChange={(e) => {
                          setConfirmed(e.target.checked);
                          if (e.target.checked && (test as { phase?: string }).phase === 'host_key')
                            testMutation.mutate({ s: server, fingerprint: test.hostKeyFingerprint });
                        }}
                        className="mt-0.5 size-4 accent-brand-600"
                      />
                      I confirm this is my server’s key
                    </label>
                    <p className="mt-1 text-xs text-slate-500">
                      Compare it with the key your server administrator gives you. DDE refuses to deliver if the key ever changes.
                    </p>
                  </div>
                ) : null}
              </div>
            ) : null}
            {errors.test ? (
              <p className="mt-3 text-sm text-red-700" role="alert">
                {errors.test}
              </p>
            ) : null}
          </div>
        </Card>

        <Card title="Encryption">
          <PgpKeyField
            program={program}
            value={pgp}
            onChange={(v) => {
              setPgp(v);
              // A new key or a confirmation settles what Save said about the key.
              setErrors(({ pgp_public_key: _k, pgp_key_fingerprint: _f, ...rest }) => rest);
            }}
            errors={errors}
          />
        </Card>

        {saveProblem ? <ErrorNotice title="The connection was not saved" error={saveProblem} /> : null}
        {Object.keys(errors).length > 0 && !errors.test && !saveProblem ? (
          <p role="alert" className="text-sm text-red-700">
            Check the highlighted fields.
          </p>
        ) : null}

        <SetupFormButtons busy={save.isPending} />
      </div>
      <aside className="space-y-4">
        <EgressInfo program={program} />
        <div className="rounded-xl border border-slate-200 bg-white px-4 py-4 text-xs leading-5 text-slate-600 shadow-xs">
          <p className="font-semibold text-slate-900">What gets delivered</p>
          <p className="mt-1">
            Each window’s users, campaigns and activities as separate files, each with a <span className="font-mono">.sha256</span>{' '}
            checksum, and a manifest written last. With the customer’s OpenPGP key, the data files arrive encrypted to it as{' '}
            <span className="font-mono">.gz.pgp</span>.
          </p>
        </div>
      </aside>
    </form>
  );
}
