// Set Up Database: schedule, then the customer's PostgreSQL or MySQL/MariaDB — host, port, database,
// schema, user, password, TLS — or a pasted connection URL split into those fields. Save runs the
// set-up test on the server (connect, schema, tables, privileges, a probe rolled back); a failure
// shows each step and what to grant, and nothing is saved.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import { Card, ErrorNotice, Field, fieldError, inputClass } from '@/components/ui/primitives';
import { todayIso } from '@/components/ui/formatters';
import type { Answer } from '@/lib/http/schemas';
import type { connectionResponse } from '@/lib/management/responses';
import { connectionName } from './describe';
import { CONNECTIONS_PATH } from './paths';
import { checkSchedule, ScheduleFields, scheduleBody, SetupFormButtons, type Schedule } from './setup-fields';

type Db = {
  engine: 'postgres' | 'mysql';
  url: string;
  host: string;
  port: string;
  database: string;
  schema: string;
  user: string;
  password: string;
  tls: 'require' | 'verify-full' | 'disable';
  ca: string;
  prefix: string;
};

type TestStep = { step: string; label: string; status: string; detail?: string; error?: { message: string } };

function testOf(e: unknown): TestStep[] | null {
  const steps = e instanceof ApiError ? (e.details as { test?: { steps?: TestStep[] } } | null)?.test?.steps : undefined;
  return steps ?? null;
}

export function DatabaseSetupForm({ program, programName }: { program: number; programName: string }) {
  const qc = useQueryClient();
  const [schedule, setSchedule] = useState<Schedule>({
    name: '',
    start: todayIso(),
    end: '',
    frequency: 'every_4_hours',
    format: 'csv',
    emails: '',
  });
  const [db, setDb] = useState<Db>({
    engine: 'postgres',
    url: '',
    host: '',
    port: '',
    database: '',
    schema: 'dde',
    user: '',
    password: '',
    tls: 'require',
    ca: '',
    prefix: '',
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const set = (k: keyof Db) => (ev: { target: { value: string } }) => setDb({ ...db, [k]: ev.target.value });

  const save = useMutation({
    mutationFn: () =>
      api<Answer<typeof connectionResponse>>('/api/v1/connections', program, {
        method: 'POST',
        body: {
          kind: db.engine,
          ...scheduleBody(schedule),
          format: 'csv',
          // A pasted URL is split into the fields by the server; a part also typed in its field must agree.
          ...(db.url.trim() ? { url: db.url.trim() } : {}),
          host: db.host.trim() || undefined,
          ...(db.port.trim() ? { port: Number(db.port) } : {}),
          database: db.database.trim() || undefined,
          ...(db.engine === 'postgres' && db.schema.trim() && !/[?&]schema=/i.test(db.url) ? { schema: db.schema.trim() } : {}),
          user: db.user.trim() || undefined,
          password: db.password || undefined,
          ...(/ssl-?mode=/i.test(db.url) ? {} : { tls: db.tls }),
          ...(db.tls === 'verify-full' && db.ca.trim() ? { ca_certificate: db.ca } : {}),
          ...(db.prefix.trim() ? { table_prefix: db.prefix.trim() } : {}),
        },
      }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['connections', program] }),
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });

  function submit(ev: FormEvent) {
    ev.preventDefault();
    const e: Record<string, string> = { ...checkSchedule(schedule) };
    if (!db.url.trim()) {
      if (!db.host.trim()) e.host = 'Enter the host, or paste a connection URL.';
      if (!db.database.trim()) e.database = 'Enter the database.';
      if (!db.user.trim()) e.user = 'Enter the user.';
      if (!db.password) e.password = 'Enter the password.';
    }
    setErrors(e);
    if (Object.keys(e).length === 0) save.mutate();
  }

  if (save.isSuccess) {
    const c = save.data.data;
    return (
      <div className="mx-auto max-w-3xl rounded-xl border border-emerald-200 bg-emerald-50 px-5 py-5" data-testid="database-created">
        <p className="text-lg font-semibold text-emerald-900" role="status">
          Database Connection Active
        </p>
        <p className="mt-1 text-sm text-emerald-800">
          {connectionName(c)} loads {programName}’s data into {c.destination.label}: tables activity, users and campaigns, each window once.
        </p>
        <div className="mt-3">
          <Link href={`${CONNECTIONS_PATH}/${c.id}`} className="text-sm font-semibold text-emerald-900 underline">
            View connection
          </Link>
        </div>
      </div>
    );
  }

  const steps = save.isError ? testOf(save.error) : null;
  return (
    <form onSubmit={submit} noValidate className="mx-auto max-w-3xl space-y-6">
      <Card title="Schedule">
        <ScheduleFields value={schedule} onChange={setSchedule} errors={errors} pushes />
        <p className="mt-3 text-xs text-slate-500">Database connections load the CSV files; the file format is CSV.</p>
      </Card>
      <Card title="Database">
        <div className="grid grid-cols-1 gap-5 sm:grid-cols-2">
          <Field label="Database type" error={fieldError(errors, 'kind')}>
            {(p) => (
              <select {...p} className={inputClass} value={db.engine} onChange={set('engine')}>
                <option value="postgres">PostgreSQL</option>
                <option value="mysql">MySQL / MariaDB</option>
              </select>
            )}
          </Field>
          <Field
            label="Connection URL"
            optional
            hint="Or paste postgres://user:password@host:5432/db?sslmode=require instead of the fields below."
            error={fieldError(errors, 'url')}
          >
            {(p) => <input {...p} className={inputClass} value={db.url} onChange={set('url')} autoComplete="off" />}
          </Field>
          <Field label="Host" error={fieldError(errors, 'host')}>
            {(p) => <input {...p} className={inputClass} value={db.host} onChange={set('host')} placeholder="db.example.com" />}
          </Field>
          <Field
            label="Port"
            optional
            hint={db.engine === 'postgres' ? 'Default 5432.' : 'Default 3306.'}
            error={fieldError(errors, 'port')}
          >
            {(p) => <input {...p} className={inputClass} value={db.port} onChange={set('port')} inputMode="numeric" />}
          </Field>
          <Field label="Database" error={fieldError(errors, 'database')}>
            {(p) => <input {...p} className={inputClass} value={db.database} onChange={set('database')} />}
          </Field>
          {db.engine === 'postgres' ? (
            <Field label="Schema" hint="The tables are made here." error={fieldError(errors, 'schema')}>
              {(p) => <input {...p} className={inputClass} value={db.schema} onChange={set('schema')} />}
            </Field>
          ) : (
            <div />
          )}
          <Field label="User" error={fieldError(errors, 'user')}>
            {(p) => <input {...p} className={inputClass} value={db.user} onChange={set('user')} autoComplete="off" />}
          </Field>
          <Field label="Password" hint="Stored encrypted; never shown again." error={fieldError(errors, 'password')}>
            {(p) => (
              <input
                {...p}
                type="password"
                className={inputClass}
                value={db.password}
                onChange={set('password')}
                autoComplete="new-password"
              />
            )}
          </Field>
          <Field label="TLS" error={fieldError(errors, 'tls')}>
            {(p) => (
              <select {...p} className={inputClass} value={db.tls} onChange={set('tls')}>
                <option value="require">Require</option>
                <option value="verify-full">Verify the certificate and host name</option>
                <option value="disable">Off (private network only)</option>
              </select>
            )}
          </Field>
          <Field
            label="Table prefix"
            optional
            hint="e.g. dde_ for dde_activity, dde_users, dde_campaigns."
            error={fieldError(errors, 'table_prefix')}
          >
            {(p) => <input {...p} className={inputClass} value={db.prefix} onChange={set('prefix')} />}
          </Field>
          {db.tls === 'verify-full' ? (
            <Field
              label="CA certificate"
              optional
              className="sm:col-span-2"
              hint="PEM; empty: the system's trusted CAs."
              error={fieldError(errors, 'ca_certificate')}
            >
              {(p) => <textarea {...p} rows={3} className={inputClass} value={db.ca} onChange={set('ca')} />}
            </Field>
          ) : null}
        </div>
      </Card>
      {steps ? (
        <Card title="Set-up test">
          <ol className="space-y-2 text-sm" data-testid="database-test-steps">
            {steps.map((s) => (
              <li key={s.step} className={s.status === 'failed' ? 'text-red-700' : s.status === 'ok' ? 'text-slate-800' : 'text-slate-400'}>
                <span className="font-medium">
                  {s.status === 'ok' ? '✓' : s.status === 'failed' ? '✗' : '–'} {s.label}
                </span>
                {s.detail ? <span className="text-slate-500"> · {s.detail}</span> : null}
                {s.error ? <p className="mt-0.5 font-mono text-xs break-words">{s.error.message}</p> : null}
              </li>
            ))}
          </ol>
        </Card>
      ) : null}
      {save.isError ? <ErrorNotice title="The connection was not saved" error={save.error} /> : null}
      <SetupFormButtons busy={save.isPending} />
    </form>
  );
}
