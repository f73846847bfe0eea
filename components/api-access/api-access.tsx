// API access: API clients of the program (client credentials) and your personal access tokens.
// Each secret is shown once, with a copy button; revoking asks first. Without api_access.manage
// (Brand Super Admins) the page lists both, read-only: no create form, no Revoke.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import type {
  ApiClientView as ApiClient,
  createdApiClientSchema,
  createdPersonalTokenSchema,
  PersonalTokenView as PersonalToken,
} from '@/lib/auth/api-access-schemas';
import { dt } from '@/components/ui/formatters';
import {
  fieldError,
  Button,
  Card,
  CopyButton,
  Dialog,
  ErrorNotice,
  Field,
  inputClass,
  Loading,
  Notice,
  StatusBadge,
} from '@/components/ui/primitives';
import type { Answer, DataOf, ListOf } from '@/lib/http/schemas';
import type { connectionListResponse } from '@/lib/management/responses';
import type { signingKeysResponseSchema } from '@/lib/export-api/schemas';

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
        <code
          className="min-w-0 flex-1 rounded-lg bg-white px-3 py-2 font-mono text-xs break-all text-slate-900 ring-1 ring-amber-200"
          data-testid="secret-value"
        >
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

function ScopeSelect({ value, onChange, scopes }: { value: string; onChange: (v: string) => void; scopes: readonly string[] }) {
  return (
    <Field label="Access">
      {(p) => (
        <select {...p} className={inputClass} value={value} onChange={(e) => onChange(e.target.value)}>
          {SCOPE_OPTIONS.filter((s) => scopes.includes(s.value)).map((s) => (
            <option key={s.value} value={s.value}>
              {s.label} — {s.hint}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function RevokeDialog({
  what,
  open,
  onClose,
  onConfirm,
  busy,
  error,
}: {
  what: string;
  open: boolean;
  onClose: () => void;
  onConfirm: () => void;
  busy: boolean;
  error: unknown;
}) {
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

type Credential = { id: string; name: string | null; status: string };

/**
 * One kind of credential (API clients, personal tokens): the create form with its scope, the secret
 * shown once, the list with each item's details, and revoking with a confirmation.
 */
function CredentialSection<T extends Credential, C>(props: {
  program: number;
  /** Show the create form and Revoke (the server refuses both without api_access.manage anyway). */
  canManage: boolean;
  title: string;
  intro: string;
  /** "client" or "token", in labels and messages. */
  noun: string;
  queryKey: unknown[];
  listPath: string;
  revokePath: (item: T) => string;
  create: (name: string, scope: string) => Promise<DataOf<C>>;
  nameMissing: string;
  namePlaceholder: string;
  /** The scopes offered (personal tokens: those the role may give); API clients always read exports only. */
  scopes?: readonly string[];
  /** Fields between the scope and the button (they keep their own state), given the server's field errors. */
  extraFields?: (errors: Record<string, string>) => React.ReactNode;
  formClassName: string;
  buttonClassName: string;
  secret: (created: C) => { label: string; value: string; extra?: React.ReactNode };
  emptyText: string;
  /** The lines under an item's name. */
  details: (item: T) => React.ReactNode;
  displayName: (item: T) => string;
}) {
  const { program, noun } = props;
  const Noun = noun[0].toUpperCase() + noun.slice(1);
  const qc = useQueryClient();
  const list = useQuery({ queryKey: props.queryKey, queryFn: () => api<ListOf<T>>(props.listPath, program) });
  const [name, setName] = useState('');
  const [scope, setScope] = useState('data_exports.read');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [revoking, setRevoking] = useState<T | null>(null);
  const create = useMutation({
    mutationFn: () => props.create(name.trim(), scope),
    onSuccess: () => {
      setName('');
      void qc.invalidateQueries({ queryKey: props.queryKey });
    },
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  const revoke = useMutation({
    mutationFn: (item: T) => api(props.revokePath(item), program, { method: 'DELETE' }),
    onSuccess: () => {
      setRevoking(null);
      void qc.invalidateQueries({ queryKey: props.queryKey });
    },
  });
  function submit(ev: FormEvent) {
    ev.preventDefault();
    const e: Record<string, string> = {};
    if (!name.trim()) e.name = props.nameMissing;
    setErrors(e);
    if (!e.name) create.mutate();
  }
  const secret = create.isSuccess ? props.secret(create.data.data) : null;
  return (
    <Card title={props.title}>
      <p className="text-sm text-slate-600">{props.intro}</p>
      {props.canManage ? (
        <>
          <form
            onSubmit={submit}
            noValidate
            className={`mt-4 grid grid-cols-1 gap-3 ${props.formClassName}`}
            aria-label={`Create ${noun === 'client' ? 'an API client' : 'a personal access token'}`}
          >
            <Field label={`${Noun} name`} error={fieldError(errors, 'name')}>
              {(p) => (
                <input
                  {...p}
                  className={inputClass}
                  value={name}
                  onChange={(e) => setName(e.target.value)}
                  maxLength={100}
                  placeholder={props.namePlaceholder}
                />
              )}
            </Field>
            {props.scopes ? <ScopeSelect value={scope} onChange={setScope} scopes={props.scopes} /> : null}
            {props.extraFields?.(errors)}
            <div className={props.buttonClassName}>
              <Button type="submit" variant="primary" busy={create.isPending} className="w-full sm:w-auto">
                Create {noun}
              </Button>
            </div>
          </form>
          {create.isError && !Object.keys(errors).length ? (
            <div className="mt-3">
              <ErrorNotice title={`The ${noun} was not created`} error={create.error} />
            </div>
          ) : null}
          {secret ? (
            <div className="mt-4">
              <SecretOnce label={secret.label} secret={secret.value} extra={secret.extra} onDone={() => create.reset()} />
            </div>
          ) : null}
        </>
      ) : null}
      <div className={props.canManage ? 'mt-5' : 'mt-4'}>
        {list.isPending ? (
          <Loading label={`Loading ${noun}s…`} />
        ) : list.isError ? (
          <ErrorNotice title={`The ${noun}s could not be loaded`} error={list.error} onRetry={() => void list.refetch()} />
        ) : list.data.data.length === 0 ? (
          <p className="rounded-lg bg-slate-50 px-4 py-6 text-center text-sm text-slate-600">{props.emptyText}</p>
        ) : (
          <ul className="divide-y divide-slate-100 rounded-lg border border-slate-200">
            {list.data.data.map((item) => (
              <li key={item.id} className="flex flex-col gap-2 px-3 py-3 sm:flex-row sm:items-center sm:justify-between">
                <div className="min-w-0">
                  <p className="flex flex-wrap items-center gap-2 text-sm font-medium text-slate-900">
                    {item.name ?? `Unnamed ${noun}`} <StatusBadge status={item.status} />
                  </p>
                  {props.details(item)}
                </div>
                {props.canManage && item.status === 'active' ? (
                  <Button size="sm" variant="dangerGhost" onClick={() => (revoke.reset(), setRevoking(item))}>
                    Revoke
                  </Button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </div>
      <RevokeDialog
        what={revoking ? `“${props.displayName(revoking)}”` : ''}
        open={revoking !== null}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        busy={revoke.isPending}
        error={revoke.isError ? revoke.error : null}
      />
    </Card>
  );
}

/** What the client form needs of a connection. */
type FeedChoice = { id: string; kind: string; name: string | null; frequency: string };

const FREQUENCY_LABELS: Record<string, string> = { every_4_hours: 'every 4 hours', daily: 'daily', weekly: 'weekly', monthly: 'monthly' };

/** The API connections a new client reads: one checkbox each (the program's only one is ticked). */
function ConnectionChoice(props: {
  feeds: FeedChoice[] | undefined;
  chosen: string[];
  onChange: (ids: string[]) => void;
  error: string | undefined;
}) {
  const { feeds, chosen } = props;
  return (
    <fieldset className="text-sm" aria-describedby={props.error ? 'client-connections-error' : undefined}>
      <legend className="mb-1 font-medium text-slate-700">Reads the API connection(s)</legend>
      {feeds === undefined ? (
        <p className="text-slate-500">Loading connections…</p>
      ) : feeds.length === 0 ? (
        <p className="text-slate-600">This program has no API connection yet: create one first.</p>
      ) : (
        <ul className="space-y-1">
          {feeds.map((f) => (
            <li key={f.id}>
              <label className="flex items-center gap-2">
                <input
                  type="checkbox"
                  checked={chosen.includes(f.id)}
                  onChange={(e) => props.onChange(e.target.checked ? [...chosen, f.id] : chosen.filter((id) => id !== f.id))}
                />
                <span>
                  {f.name ?? 'Unnamed API connection'}{' '}
                  <span className="text-slate-500">({FREQUENCY_LABELS[f.frequency] ?? f.frequency})</span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      )}
      {props.error ? (
        <p id="client-connections-error" className="mt-1 text-xs text-red-700">
          {props.error}
        </p>
      ) : null}
    </fieldset>
  );
}

function Clients({ program, canManage }: { program: number; canManage: boolean }) {
  const connections = useQuery({
    queryKey: ['connections', program, 'api-feeds'],
    queryFn: () => api<Answer<typeof connectionListResponse>>('/api/v1/connections', program),
  });
  const feeds = connections.data?.data.filter((c) => c.kind === 'api');
  const [picked, setPicked] = useState<string[] | null>(null);
  // Until the admin picks, the program's only API connection is the choice.
  const chosen = picked ?? (feeds?.length === 1 ? [feeds[0].id] : []);
  const nameOf = (id: string) => feeds?.find((f) => f.id === id)?.name ?? id;
  return (
    <CredentialSection<ApiClient, ApiClient & { client_secret: string }>
      program={program}
      canManage={canManage}
      title="API clients"
      intro={
        canManage
          ? 'For your systems: they exchange the client id and secret for short-lived access tokens at /api/oauth/token. Each client reads the files of the API connection(s) you choose.'
          : 'The systems that collect this program’s exports: each exchanges its client id and secret for short-lived access tokens at /api/oauth/token and reads the files of the API connection(s) named below.'
      }
      noun="client"
      queryKey={['api-clients', program]}
      listPath="/api/v1/api-clients"
      revokePath={(c) => `/api/v1/api-clients/${c.id}`}
      create={(name, scope) =>
        api<Answer<typeof createdApiClientSchema>>('/api/v1/api-clients', program, {
          method: 'POST',
          body: { program_id: program, name, scopes: [scope], ...(chosen.length ? { connection_ids: chosen } : {}) },
        })
      }
      extraFields={(errors) => (
        <ConnectionChoice feeds={feeds} chosen={chosen} onChange={setPicked} error={fieldError(errors, 'connection_ids')} />
      )}
      nameMissing="Give the client a name, e.g. the system that uses it."
      namePlaceholder="e.g. Data warehouse loader"
      formClassName="sm:grid-cols-2 lg:grid-cols-[1fr_1fr_auto] lg:items-start"
      buttonClassName="lg:pt-7"
      secret={(c) => ({
        label: 'client secret',
        value: c.client_secret,
        extra: (
          <p className="mt-1 text-xs text-amber-900">
            Client id: <span className="font-mono">{c.client_id}</span>
          </p>
        ),
      })}
      emptyText="No API clients yet."
      displayName={(c) => c.name}
      details={(c) => (
        <>
          <p className="mt-0.5 font-mono text-xs break-all text-slate-600">{c.client_id}</p>
          <p className="mt-0.5 text-xs text-slate-500">
            Reads {c.connection_ids.length ? c.connection_ids.map(nameOf).join(', ') : 'no API connection'}
          </p>
          <p className="mt-0.5 text-xs text-slate-500">
            {c.scopes.join(', ')} · created {dt(c.created_at)} · last used {c.last_used_at ? dt(c.last_used_at) : 'never'}
          </p>
        </>
      )}
    />
  );
}

function Tokens({ program, scopes }: { program: number; scopes: readonly string[] }) {
  const [days, setDays] = useState('90');
  return (
    <CredentialSection<PersonalToken, PersonalToken & { token: string }>
      program={program}
      canManage
      scopes={scopes}
      title="Personal access tokens"
      intro="Act with your own access from scripts, as a bearer token. Never more than your role allows."
      noun="token"
      queryKey={['tokens']}
      listPath="/api/v1/tokens"
      revokePath={(t) => `/api/v1/tokens/${t.id}`}
      create={(name, scope) =>
        api<Answer<typeof createdPersonalTokenSchema>>('/api/v1/tokens', program, {
          method: 'POST',
          body: { name, scopes: [scope], expires_in_days: days === 'never' ? null : Number(days) },
        })
      }
      nameMissing="Give the token a name, e.g. what you use it for."
      namePlaceholder="e.g. Monthly report script"
      extraFields={(errors) => (
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
      )}
      formClassName="sm:grid-cols-2 lg:grid-cols-[1fr_1fr_10rem_auto] lg:items-start"
      buttonClassName="lg:pt-7"
      secret={(t) => ({ label: 'token', value: t.token })}
      emptyText="You have no personal tokens."
      displayName={(t) => t.name ?? t.token_prefix}
      details={(t) => (
        <>
          <p className="mt-0.5 font-mono text-xs text-slate-600">{t.token_prefix}…</p>
          <p className="mt-0.5 text-xs text-slate-500">
            {t.scopes.join(', ')} · {t.expires_at ? `expires ${dt(t.expires_at)}` : 'does not expire'} · last used{' '}
            {t.last_used_at ? dt(t.last_used_at) : 'never'}
          </p>
        </>
      )}
    />
  );
}

/** The public keys that sign manifests: what a receiver verifies `<manifest>.sig` against. */
function SigningKeys({ program }: { program: number }) {
  const keys = useQuery({
    queryKey: ['signing-keys'],
    queryFn: () => api<Answer<typeof signingKeysResponseSchema>>('/api/v1/signing-keys', program),
  });
  return (
    <Card title="Manifest signing keys">
      <div className="space-y-3" data-testid="signing-keys">
        <p className="text-sm text-slate-600">
          Every manifest comes with an Ed25519 signature beside it (<code>&lt;manifest&gt;.sig</code>). Verify it with these public keys,
          published at <code>/api/v1/signing-keys</code> (JWKS, no token needed), for instance with <code>dde verify DIR --keys URL</code>.
          The newest key signs; older ones stay here so earlier manifests still verify.
        </p>
        {keys.error ? (
          <ErrorNotice title="The signing keys could not be loaded" error={keys.error} onRetry={() => void keys.refetch()} />
        ) : !keys.data ? (
          <Loading />
        ) : (
          <ul className="divide-y divide-slate-100 text-sm">
            {keys.data.keys.map((k, i) => (
              <li key={k.kid} className="flex flex-wrap items-center gap-x-4 gap-y-1 py-2">
                <code className="font-mono text-xs text-slate-800">{k.kid}</code>
                <span className="text-slate-500">added {dt(k.created_at)}</span>
                <span className="text-slate-500">{i === 0 ? 'signs new manifests' : 'verifies older manifests'}</span>
                <CopyButton text={JSON.stringify(k)} label="Copy JWK" />
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}

/**
 * `canManage`: may create and revoke the program's API clients. `tokenScopes`: what the signed-in
 * account may give its own personal tokens (every account manages its own, within its role).
 */
export function ApiAccess({ program, canManage, tokenScopes }: { program: number; canManage: boolean; tokenScopes: readonly string[] }) {
  return (
    <div className="space-y-6">
      {canManage ? null : (
        <div data-testid="read-only-notice">
          <Notice title="Your role can view API clients, not change them">
            Only Firstup Super Admins create or revoke API clients. Ask one if a client needs to be added or revoked. Your own personal
            tokens are yours to create and revoke below; they read exports with your access.
          </Notice>
        </div>
      )}
      <Clients program={program} canManage={canManage} />
      <Tokens program={program} scopes={tokenScopes} />
      <SigningKeys program={program} />
    </div>
  );
}
