// Set Up SFTP: schedule, server (sftp-server-fields.tsx), credentials and contacts; "Test connection"
// shows each step and the host key to confirm (connection-test.tsx); optionally the customer's
// OpenPGP key (its fingerprint confirmed likewise); Save creates the connection (the server tests it
// again) and shows the result (sftp-created.tsx).
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import type { TestReport } from '@/lib/management/responses';
import { todayIso } from '@/components/ui/formatters';
import { checkSchedule, EgressInfo, ScheduleFields, scheduleBody, SetupFormButtons, type Schedule } from './setup-fields';
import { checkPgpKey, NO_PGP_KEY, PgpKeyField, pgpKeyBody, type PgpKeyChoice } from './pgp-key-field';
import { CredentialFields, credentialsBody } from './credential-fields';
import { ADDRESS_FIELDS, checkServer, ServerAddressFields, splitServer, type Server } from './sftp-server-fields';
import { ConnectionTestPanel, isHostKeyPhase } from './connection-test';
import { SftpCreated } from './sftp-created';
import { describeServerAddress } from '@/lib/connections/server-address';
import { Card, ErrorNotice } from '@/components/ui/primitives';
import type { Answer } from '@/lib/http/schemas';
import type { connectionResponse, testReportResponse } from '@/lib/management/responses';

const CHECK_FIELDS = 'Check the highlighted fields.';

/** What the server fields hold, as the note under the server field says it. */
function describeFields(s: Server): string {
  const port = Number(s.port);
  return describeServerAddress({
    host: s.host.trim(),
    port: Number.isInteger(port) && port > 0 ? port : 22,
    ...(s.folder.trim() ? { folder: s.folder.trim() } : {}),
    ...(s.username.trim() ? { username: s.username.trim() } : {}),
  });
}

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
  // The host key the admin confirmed for this host and port: new credentials (or another folder or
  // user) are tested against it again without asking; another host or port forgets it.
  const [confirmedKey, setConfirmedKey] = useState<string | null>(null);
  // Which button the last check came from, so "Check the highlighted fields" shows beside it.
  const [pressed, setPressed] = useState<'test' | 'save' | null>(null);
  const [pgp, setPgp] = useState<PgpKeyChoice>(NO_PGP_KEY);
  const [portTouched, setPortTouched] = useState(false);
  // Whether the server field held an address that was split into the fields: the note under it then
  // says what the fields now hold (it follows a port or folder typed afterwards).
  const [addressSplit, setAddressSplit] = useState(false);

  const setS = (patch: Partial<Server>) => {
    setServer((s) => ({ ...s, ...patch }));
    // Anything new needs a new test; only another host or port needs its key confirmed again.
    setTest(null);
    if ('host' in patch || 'port' in patch) {
      setConfirmed(false);
      setConfirmedKey(null);
    }
  };
  const input = (k: keyof Server) => ({
    value: server[k],
    onChange: (e: { target: { value: string } }) => {
      if (k === 'host') {
        setAddressSplit(false);
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
      setAddressSplit(true);
      setS(split.server);
      setErrors(({ host: _h, port: _p, folder: _f, username: _u, ...rest }) => rest);
    } else setErrors(({ host: _h, ...rest }) => rest);
    return split.server;
  };
  const preview = (() => {
    const split = splitServer(server, portTouched);
    return 'note' in split ? split.note : null;
  })();
  const note = preview ?? (addressSplit ? describeFields(server) : null);

  // Two steps: first only the host key (nothing is sent to the server); once the admin confirms it, sign-in and the folder.
  const testMutation = useMutation({
    mutationFn: ({ s, fingerprint }: { s: Server; fingerprint?: string }) =>
      api<Answer<typeof testReportResponse>>('/api/v1/connections/test', program, {
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
      if (fingerprint) setConfirmedKey(fingerprint);
    },
    onError: (e) => {
      setTest(null);
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });

  const save = useMutation({
    mutationFn: (s: Server) =>
      api<Answer<typeof connectionResponse>>('/api/v1/connections', program, {
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
    setPressed('test');
    const s = applyAddress();
    if (!s) return;
    const e = checkServer(s);
    setErrors(e);
    if (Object.keys(e).length === 0) testMutation.mutate({ s, fingerprint: confirmedKey ?? undefined });
  }

  function submit(ev: FormEvent) {
    ev.preventDefault();
    setPressed('save');
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
      e.test = confirmedKey
        ? 'Test the connection again with the new details (the host key stays confirmed).'
        : 'Test the connection first, then confirm the server’s host key.';
    else if (Object.keys(e).length === 0 && !confirmed) e.test = 'Confirm that the host key fingerprint is your server’s key.';
    setErrors(e);
    if (Object.keys(e).length === 0) save.mutate(s);
  }

  if (save.isSuccess) return <SftpCreated connection={save.data.data} programName={programName} />;

  const saveProblem = save.isError ? save.error : null;
  const fieldProblems = Object.keys(errors).some((k) => k !== 'test');

  return (
    <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,1fr)_18rem]">
      <div className="space-y-6">
        <Card title="Schedule">
          <ScheduleFields value={schedule} onChange={setSchedule} errors={errors} pushes />
        </Card>

        <Card title="SFTP server">
          <ServerAddressFields
            input={input}
            note={note}
            errors={errors}
            onHostBlur={() => {
              if (server.host.trim()) applyAddress();
            }}
          />
          <CredentialFields value={server} onChange={setS} errors={errors} radioName="auth-method" />

          <ConnectionTestPanel
            test={test}
            confirmed={confirmed}
            busy={testMutation.isPending}
            error={testMutation.isError ? testMutation.error : null}
            problem={errors.test ?? (pressed === 'test' && fieldProblems ? CHECK_FIELDS : undefined)}
            confirmedKey={confirmedKey}
            onTest={runTest}
            onConfirm={(checked) => {
              setConfirmed(checked);
              if (!checked) setConfirmedKey(null);
              if (checked && test && isHostKeyPhase(test)) testMutation.mutate({ s: server, fingerprint: test.hostKeyFingerprint });
            }}
          />
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
        {pressed === 'save' && fieldProblems && !errors.test && !saveProblem ? (
          <p role="alert" className="text-sm text-red-700" data-testid="save-problem">
            {CHECK_FIELDS}
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
