// API access: API clients of the program (client credentials) and your personal access tokens.
// Each secret is shown once, with a copy button; revoking asks first.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, type ApiClient, type PersonalToken } from './api';
import { dt } from './format';
import { fieldError } from './shared-fields';
import { Button, Card, CopyButton, Dialog, ErrorNotice, Field, inputClass, Loading, StatusBadge } from './ui';

const SCOPE_OPTIONS = [
  { value: 'data_exports.read', label: 'Read exports', hint: 'List and download export files and folders.' },
  { value: 'data_exports.manage', label: 'Manage connections', hint: 'Also create and change connections through the API.' },
];

function SecretOnce({ label, secret, extra, onDone }: { label: string; secret: string; extra?: React.ReactNode; onDone: () => void }) {
  return (
    <div className="rounded-xl border border-amber-300 bg-amber-50 px-4 py-4" role="status" data-testid="secret-once">
      <p className="text-sm font-semibold text-amber-900">Copy the {label} now: it is shown only once.</p>
      {extra}
      <div className="mt-2 flex flex-col gap-2 sm:flex-row sm:items-center">
        <code className="min-w-0 flex-1 rounded-lg bg-white px-3 py-2 font-mono text-xs break-all text-slate-900 ring-1 ring-amber-200" data-testid="secret-value">
          {secret}
        </code>
        <div className="flex gap-2">
          <CopyButton text={secret} />
          <Button size="sm" variant="ghost" onClick={onDone}>
            Done
          </Button>
        </div>
      </div>
    </div>
  );
}

function ScopeSelect({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <Field label="Access">
      {(p) => (
        <select {...p} className={inputClass} value={value} onChange={(e) => onChange(e.target.value)}>
          {SCOPE_OPTIONS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label} — {s.hint}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function RevokeDialog({ what, open, onClose, onConfirm, busy, error }: { what: string; open: boolean; onClose: () => void; onConfirm: () => void; busy: boolean; error: unknown }) {
  return (
    <Dialog
      open={open}
      title={`Revoke ${what}?`}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="danger" onClick={onConfirm} busy={busy}>
            Revoke
          </Button>
        </>
      }
    >
      <p>Anything using it stops working at once, including access tokens already issued. This cannot be undone.</p>
      {error ? (
        <div className="mt-3">
          <ErrorNotice title="Not revoked" error={error} />
        </div>
      ) : null}
    </Dialog>
  );
}

function Clients({ program }: { program: number }) {
  const qc = useQueryClient();
  const key = ['api-clients', program];
  const list = useQuery({ queryKey: key, queryFn: () => api<{ data: ApiClient[] }>('/api/v1/api-clients', program) });
  const [name, setName] = useState('');
  const [scope, setScope] = useState('data_exports.read');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [revoking, setRevoking] = useState<ApiClient | null>(null);
  const create = useMutation({
    mutationFn: () => api<{ data: ApiClient & { client_secret: string } }>('/api/v1/api-clients', program, { method: 'POST', body: { program_id: program, name: name.trim(), scopes: [scope] } }),
    onSuccess: () => {
      setName('');
      void qc.invalidateQueries({ queryKey: key });
    },
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  const revoke = useMutation({
    mutationFn: (c: ApiClient) => api(`/api/v1/api-clients/${c.id}`, program, { method: 'DELETE' }),
    onSuccess: () => {
      setRevoking(null);
      void qc.invalidateQueries({ queryKey: key });
    },
  });
  function submit(ev: FormEvent) {
    ev.preventDefault();
    const e: Record<string, string> = {};
    if (!name.trim()) e.name = 'Give the client a name, e.g. the system that uses it.';
    setErrors(e);
    if (!e.name) create.mutate();
  }
  return (
    <Card title="API clients">
      <p className="text-sm text-slate-600">For your systems: they exchange the client id and secret for short-lived access tokens at /api/oauth/token.</p>
      <form onSubmit={submit} noValidate className="mt-4 grid grid-cols-1 gap-3 sm:grid-cols-[1fr_1fr_auto] sm:items-start" aria-label="Create an API client">
        <Field label="Client name" error={fieldError(errors, 'name')}>
          {(p) => <input {...p} className={inputClass} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="e.g. Data warehouse loader" />}
        </Field>
        <ScopeSelect value={scope} onChange={setScope} />
        <div className="sm:pt-7">
          <Button type="submit" variant="primary" busy={create.isPending} className="w-full sm:w-auto">
            Create client
          </Button>
        </div>
      </form>
      {create.isError && !Object.keys(errors).length ? (
        <div className="mt-3">
          <ErrorNotice title="The client was not created" error={create.error} />
        </div>
      ) : null}
      {create.isSuccess ? (
        <div className="mt-4">
          <SecretOnce
            label="client secret"
            secret={create.data.data.client_secret}
            extra={
              <p className="mt-1 text-xs text-amber-900">
                Client id: <span className="font-mono">{create.data.data.client_id}</span>
              </p>
            }
            onDone={() => create.reset()}
          />
        </div>
      ) : null}
      <div className="mt-5">
        {list.isPending ? (
          <Loading label="Loading clients…" />
        ) : list.isError ? (
          <ErrorNotice title="The clients could not be loaded" error={list.error} onRetry={() => void list.refetch()} />
        ) : list.data.data.length === 0 ? (
          <p className="rounded-lg bg-slate-50 px-4 py-6 text-center text-sm text-slate-600">No API clients yet.</p>
        ) : (
          <ul className="divide-y divide-slate-100 rounded-lg border border-slate-200">
            {list.data.data.map((c) => (
              <li key={c.id} className="flex flex-col gap-2 px-3 py-3 sm:flex-row sm:items-center sm:justify-between">
                <div className="min-w-0">
                  <p className="flex flex-wrap items-center gap-2 text-sm font-medium text-slate-900">
                    {c.name} <StatusBadge status={c.status} />
                  </p>
                  <p className="mt-0.5 font-mono text-xs break-all text-slate-600">{c.client_id}</p>
                  <p className="mt-0.5 text-xs text-slate-500">
                    {c.scopes.join(', ')} · created {dt(c.created_at)} · last used {c.last_used_at ? dt(c.last_used_at) : 'never'}
                  </p>
                </div>
                {c.status === 'active' ? (
                  <Button size="sm" variant="dangerGhost" onClick={() => (revoke.reset(), setRevoking(c))}>
                    Revoke
                  </Button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </div>
      <RevokeDialog
        what={revoking ? `“${revoking.name}”` : ''}
        open={revoking !== null}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        busy={revoke.isPending}
        error={revoke.isError ? revoke.error : null}
      />
    </Card>
  );
}

function Tokens({ program }: { program: number }) {
  const qc = useQueryClient();
  const key = ['tokens'];
  const list = useQuery({ queryKey: key, queryFn: () => api<{ data: PersonalToken[] }>('/api/v1/tokens', program) });
  const [name, setName] = useState('');
  const [scope, setScope] = useState('data_exports.read');
  const [days, setDays] = useState('90');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [revoking, setRevoking] = useState<PersonalToken | null>(null);
  const create = useMutation({
    mutationFn: () =>
      api<{ data: PersonalToken & { token: string } }>('/api/v1/tokens', program, {
        method: 'POST',
        body: { name: name.trim(), scopes: [scope], expires_in_days: days === 'never' ? null : Number(days) },
      }),
    onSuccess: () => {
      setName('');
      void qc.invalidateQueries({ queryKey: key });
    },
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  const revoke = useMutation({
    mutationFn: (t: PersonalToken) => api(`/api/v1/tokens/${t.id}`, program, { method: 'DELETE' }),
    onSuccess: () => {
      setRevoking(null);
      void qc.invalidateQueries({ queryKey: key });
    },
  });
  function submit(ev: FormEvent) {
    ev.preventDefault();
    const e: Record<string, string> = {};
    if (!name.trim()) e.name = 'Give the token a name, e.g. what you use it for.';
    setErrors(e);
    if (!e.name) create.mutate();
  }
  return (
    <Card title="Personal access tokens">
      <p className="text-sm text-slate-600">Act with your own access from scripts, as a bearer token. Never more than your role allows.</p>
      <form onSubmit={submit} noValidate className="mt-4 grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-[1fr_1fr_10rem_auto] lg:items-start" aria-label="Create a personal access token">
        <Field label="Token name" error={fieldError(errors, 'name')}>
          {(p) => <input {...p} className={inputClass} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="e.g. Monthly report script" />}
        </Field>
        <ScopeSelect value={scope} onChange={setScope} />
        <Field label="Expires" error={fieldError(errors, 'expires_in_days')}>
          {(p) => (
            <select {...p} className={inputClass} value={days} onChange={(e) => setDays(e.target.value)}>
              <option value="7">In 7 days</option>
              <option value="30">In 30 days</option>
              <option value="90">In 90 days</option>
              <option value="365">In a year</option>
              <option value="never">Never</option>
            </select>
          )}
        </Field>
        <div className="lg:pt-7">
          <Button type="submit" variant="primary" busy={create.isPending} className="w-full sm:w-auto">
            Create token
          </Button>
        </div>
      </form>
      {create.isError && !Object.keys(errors).length ? (
        <div className="mt-3">
          <ErrorNotice title="The token was not created" error={create.error} />
        </div>
      ) : null}
      {create.isSuccess ? (
        <div className="mt-4">
          <SecretOnce label="token" secret={create.data.data.token} onDone={() => create.reset()} />
        </div>
      ) : null}
      <div className="mt-5">
        {list.isPending ? (
          <Loading label="Loading tokens…" />
        ) : list.isError ? (
          <ErrorNotice title="The tokens could not be loaded" error={list.error} onRetry={() => void list.refetch()} />
        ) : list.data.data.length === 0 ? (
          <p className="rounded-lg bg-slate-50 px-4 py-6 text-center text-sm text-slate-600">You have no personal tokens.</p>
        ) : (
          <ul className="divide-y divide-slate-100 rounded-lg border border-slate-200">
            {list.data.data.map((t) => (
              <li key={t.id} className="flex flex-col gap-2 px-3 py-3 sm:flex-row sm:items-center sm:justify-between">
                <div className="min-w-0">
                  <p className="flex flex-wrap items-center gap-2 text-sm font-medium text-slate-900">
                    {t.name ?? 'Unnamed token'} <StatusBadge status={t.status} />
                  </p>
                  <p className="mt-0.5 font-mono text-xs text-slate-600">{t.token_prefix}…</p>
                  <p className="mt-0.5 text-xs text-slate-500">
                    {t.scopes.join(', ')} · {t.expires_at ? `expires ${dt(t.expires_at)}` : 'does not expire'} · last used {t.last_used_at ? dt(t.last_used_at) : 'never'}
                  </p>
                </div>
                {t.status === 'active' ? (
                  <Button size="sm" variant="dangerGhost" onClick={() => (revoke.reset(), setRevoking(t))}>
                    Revoke
                  </Button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </div>
      <RevokeDialog
        what={revoking ? `“${revoking.name ?? revoking.token_prefix}”` : ''}
        open={revoking !== null}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        busy={revoke.isPending}
        error={revoke.isError ? revoke.error : null}
      />
    </Card>
  );
}

export function ApiAccess({ program }: { program: number }) {
  return (
    <div className="space-y-6">
      <Clients program={program} />
      <Tokens program={program} />
    </div>
  );
}
