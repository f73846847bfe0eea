// Set Up Cloud Storage: schedule, then the provider first (Amazon S3, S3-compatible, Google Cloud
// Storage, Azure Blob) and only its fields. For Amazon S3 the default is role assumption: DDE issues
// the external id (POST /api/v1/connections/external-id) and shows the trust policy and the
// permissions policy to paste, each with a copy button. The fields are checked here with the API's
// own rules (lib/destinations/s3-settings.ts, azure-settings.ts): a bad value is refused under its
// field, naming what was typed, and nothing is sent. "Test connection" runs the destination's set-up
// test (POST /api/v1/connections/destination-test) and shows each step; Save runs it again on the
// server and saves only when it passes.
'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState, type FormEvent } from 'react';
import type { z } from 'zod';
import { api, ApiError } from '@/components/api/client';
import { Button, Card, CopyButton, ErrorNotice, Field, fieldError, inputClass, Notice } from '@/components/ui/primitives';
import { todayIso } from '@/components/ui/formatters';
import { azureSettingsSchema } from '@/lib/destinations/azure-settings';
import { S3_STORAGE_CLASSES, s3PermissionsPolicy, s3SettingsSchema } from '@/lib/destinations/s3-settings';
import type { Answer } from '@/lib/http/schemas';
import type {
  connectionResponse,
  destinationTestReportResponse,
  DestinationTestReport,
  ExternalId,
  externalIdResponse,
} from '@/lib/management/responses';
import { TestSteps } from './connection-test';
import { connectionName } from './describe';
import { CONNECTIONS_PATH } from './paths';
import { checkSchedule, EgressInfo, ScheduleFields, scheduleBody, SetupFormButtons, type Schedule } from './setup-fields';

export type Provider = 'aws' | 's3_compatible' | 'gcs' | 'azure';

const PROVIDERS: { value: Provider; label: string; hint: string }[] = [
  { value: 'aws', label: 'Amazon S3', hint: 'A bucket in AWS; DDE assumes a role of yours, or uses an access key.' },
  {
    value: 's3_compatible',
    label: 'S3-compatible',
    hint: 'MinIO, Ceph, Cloudflare R2, Wasabi…: any server speaking the S3 API at its endpoint.',
  },
  { value: 'gcs', label: 'Google Cloud Storage', hint: 'A bucket through GCS’s S3-compatible API, with an HMAC key.' },
  { value: 'azure', label: 'Azure Blob Storage', hint: 'A container in a storage account, with the account key or a SAS token.' },
];

type Fields = {
  bucket: string;
  prefix: string;
  region: string;
  endpoint: string;
  pathStyle: boolean;
  auth: 'role' | 'access_key';
  roleArn: string;
  accessKeyId: string;
  secretAccessKey: string;
  sse: 'none' | 'AES256' | 'aws:kms';
  kmsKeyId: string;
  storageClass: string;
  account: string;
  container: string;
  azureAuth: 'account_key' | 'sas';
  accountKey: string;
  sasToken: string;
};

const EMPTY: Fields = {
  bucket: '',
  prefix: 'dde',
  region: 'us-east-1',
  endpoint: '',
  pathStyle: true,
  auth: 'role',
  roleArn: '',
  accessKeyId: '',
  secretAccessKey: '',
  sse: 'none',
  kmsKeyId: '',
  storageClass: '',
  account: '',
  container: '',
  azureAuth: 'account_key',
  accountKey: '',
  sasToken: '',
};

/** The fields whose bad value a message repeats as typed (as the API does): names, never an endpoint or a secret. */
const ECHOED = new Set(['bucket', 'prefix', 'region', 'account', 'container', 'role_arn', 'kms_key_id']);

/** zod's issues as the form's field errors, under the API's paths (destination.bucket…), each naming the value typed. */
function issuesToErrors(error: z.ZodError, raw: Record<string, unknown>, base: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? '');
    const path = `${base}.${key}`;
    if (out[path]) continue;
    const value = raw[key];
    const said =
      ECHOED.has(key) && typeof value === 'string' && value.trim() && !issue.message.includes(value)
        ? `${issue.message.replace(/\.$/, '')} (you entered “${value.length > 60 ? `${value.slice(0, 60)}…` : value}”).`
        : issue.message;
    out[path] = said;
  }
  return out;
}

type Body = { kind: 's3' | 'azure_blob'; destination: Record<string, unknown>; credentials: Record<string, string> | null };

/** The destination and credentials as the API takes them, or the field errors that keep them from being sent. */
export function destinationBody(
  provider: Provider,
  f: Fields,
  externalId: string | null,
): { body: Body; errors: null } | { body: null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (provider === 'azure') {
    const raw: Record<string, unknown> = {
      account: f.account.trim(),
      container: f.container.trim(),
      prefix: f.prefix,
      ...(f.endpoint.trim() ? { endpoint: f.endpoint.trim() } : {}),
      auth: f.azureAuth,
    };
    const parsed = azureSettingsSchema.safeParse(raw);
    if (!parsed.success) Object.assign(errors, issuesToErrors(parsed.error, raw, 'destination'));
    if (f.azureAuth === 'account_key' && !f.accountKey.trim()) errors['credentials.account_key'] = 'Enter the account key.';
    if (f.azureAuth === 'sas' && !f.sasToken.trim()) errors['credentials.sas_token'] = 'Paste the SAS token.';
    if (Object.keys(errors).length) return { body: null, errors };
    return {
      body: {
        kind: 'azure_blob',
        destination: raw,
        credentials: f.azureAuth === 'sas' ? { sas_token: f.sasToken.trim() } : { account_key: f.accountKey.trim() },
      },
      errors: null,
    };
  }
  const auth = provider === 'aws' ? f.auth : 'access_key';
  const raw: Record<string, unknown> = {
    provider,
    bucket: f.bucket.trim(),
    prefix: f.prefix,
    region: f.region.trim(),
    ...(provider === 's3_compatible' ? { endpoint: f.endpoint.trim(), path_style: f.pathStyle } : {}),
    auth,
    ...(auth === 'role' ? { role_arn: f.roleArn.trim(), external_id: externalId ?? '' } : {}),
    sse: f.sse,
    ...(f.sse === 'aws:kms' ? { kms_key_id: f.kmsKeyId.trim() } : {}),
    ...(f.storageClass ? { storage_class: f.storageClass } : {}),
  };
  const parsed = s3SettingsSchema.safeParse(raw);
  if (!parsed.success) {
    Object.assign(errors, issuesToErrors(parsed.error, raw, 'destination'));
    if (errors['destination.role_arn'] && !f.roleArn.trim()) errors['destination.role_arn'] = 'Enter the ARN of the role DDE assumes.';
    if (errors['destination.kms_key_id'] && !f.kmsKeyId.trim()) errors['destination.kms_key_id'] = 'Enter the KMS key id or ARN.';
  }
  if (auth === 'access_key') {
    if (!f.accessKeyId.trim()) errors['credentials.access_key_id'] = 'Enter the access key id.';
    if (!f.secretAccessKey) errors['credentials.secret_access_key'] = 'Enter the secret access key.';
  }
  if (Object.keys(errors).length) return { body: null, errors };
  return {
    body: {
      kind: 's3',
      destination: raw,
      credentials: auth === 'access_key' ? { access_key_id: f.accessKeyId.trim(), secret_access_key: f.secretAccessKey } : null,
    },
    errors: null,
  };
}

const CHECK_FIELDS = 'Check the highlighted fields.';

function PolicyBlock({ title, hint, policy, testId }: { title: string; hint: string; policy: unknown; testId: string }) {
  const text = JSON.stringify(policy, null, 2);
  return (
    <div className="rounded-lg border border-slate-200" data-testid={testId}>
      <div className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-100 px-3 py-2">
        <div>
          <p className="text-sm font-medium text-slate-900">{title}</p>
          <p className="text-xs text-slate-500">{hint}</p>
        </div>
        <CopyButton text={text} label={`Copy ${title.toLowerCase()}`} />
      </div>
      <pre className="max-h-96 overflow-auto bg-slate-50 px-3 py-2 font-mono text-xs leading-5 text-slate-800">{text}</pre>
    </div>
  );
}

export function CloudStorageSetupForm({ program, programName }: { program: number; programName: string }) {
  const qc = useQueryClient();
  const [schedule, setSchedule] = useState<Schedule>({
    name: '',
    start: todayIso(),
    end: '',
    frequency: 'every_4_hours',
    format: 'parquet',
    emails: '',
  });
  const [provider, setProvider] = useState<Provider>('aws');
  const [f, setF] = useState<Fields>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [pressed, setPressed] = useState<'test' | 'save' | null>(null);
  const [test, setTest] = useState<DestinationTestReport | null>(null);
  const [issued, setIssued] = useState<ExternalId | null>(null);

  const issue = useMutation({
    mutationFn: () => api<Answer<typeof externalIdResponse>>('/api/v1/connections/external-id', program, { method: 'POST' }),
    onSuccess: (r) => setIssued(r.data),
  });
  const needsRole = provider === 'aws' && f.auth === 'role';
  // Role assumption needs the external id the trust policy names: issued once, when first needed.
  const { isIdle: issueIdle, mutate: issueId } = issue;
  useEffect(() => {
    if (needsRole && issueIdle) issueId();
  }, [needsRole, issueIdle, issueId]);

  const set = (patch: Partial<Fields>) => {
    setF((v) => ({ ...v, ...patch }));
    setTest(null);
    setErrors((e) => {
      const next = { ...e };
      for (const k of Object.keys(next)) if (k.startsWith('destination') || k.startsWith('credentials') || k === 'test') delete next[k];
      return next;
    });
  };
  const text = (k: keyof Fields) => ({
    value: f[k] as string,
    onChange: (e: { target: { value: string } }) => set({ [k]: e.target.value } as Partial<Fields>),
  });

  const testMutation = useMutation({
    mutationFn: (body: Body) =>
      api<Answer<typeof destinationTestReportResponse>>('/api/v1/connections/destination-test', program, { method: 'POST', body }),
    onSuccess: (r) => setTest(r.data),
    onError: (e) => {
      setTest(null);
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });

  const save = useMutation({
    mutationFn: (body: Body) =>
      api<Answer<typeof connectionResponse>>('/api/v1/connections', program, {
        method: 'POST',
        body: { ...body, ...scheduleBody(schedule) },
      }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['connections', program] }),
    onError: (e) => {
      if (e instanceof ApiError) {
        setErrors(e.fields);
        const t = (e.details as { test?: DestinationTestReport } | null)?.test;
        if (t && Array.isArray(t.steps)) setTest(t);
      }
    },
  });

  function runTest() {
    setPressed('test');
    const built = destinationBody(provider, f, issued?.external_id ?? null);
    setErrors(built.errors ?? {});
    if (built.body) testMutation.mutate(built.body);
  }

  function submit(ev: FormEvent) {
    ev.preventDefault();
    setPressed('save');
    const built = destinationBody(provider, f, issued?.external_id ?? null);
    const e = { ...checkSchedule(schedule), ...(built.errors ?? {}) };
    setErrors(e);
    if (Object.keys(e).length === 0 && built.body) save.mutate(built.body);
  }

  if (save.isSuccess) {
    const c = save.data.data;
    return (
      <div className="mx-auto max-w-3xl rounded-xl border border-emerald-200 bg-emerald-50 px-5 py-5" data-testid="cloud-created">
        <p className="text-lg font-semibold text-emerald-900" role="status">
          Cloud Storage Connection Active
        </p>
        <p className="mt-1 text-sm text-emerald-800">
          {connectionName(c)} passed its set-up test and delivers {programName}’s files to{' '}
          <span className="font-mono break-all" data-testid="cloud-destination">
            {c.destination.label}
          </span>
          : one prefix per file type, in date partitions, the manifest last.
        </p>
        <div className="mt-3">
          <Link href={`${CONNECTIONS_PATH}/${c.id}`} className="text-sm font-semibold text-emerald-900 underline">
            View connection
          </Link>
        </div>
      </div>
    );
  }

  const s3 = provider !== 'azure';
  const fieldProblems = Object.keys(errors).some((k) => k !== 'test');
  const saveProblem = save.isError ? save.error : null;
  const testProblem = testMutation.isError ? testMutation.error : null;
  const prefixShown = f.prefix.trim().replace(/^\/+|\/+$/g, '');
  const layout = `${prefixShown ? `${prefixShown}/` : ''}incremental/activity/dt=${schedule.start || 'YYYY-MM-DD'}/<file>`;

  return (
    <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-6 lg:grid-cols-[minmax(0,1fr)_18rem]">
      <div className="min-w-0 space-y-6">
        <Card title="Schedule">
          <ScheduleFields value={schedule} onChange={setSchedule} errors={errors} pushes />
        </Card>

        <Card title="Cloud storage">
          <fieldset className="min-w-0">
            <legend className="text-sm font-medium text-slate-800">Provider</legend>
            <div className="mt-2 grid grid-cols-1 gap-2 sm:grid-cols-2" data-testid="provider-choice">
              {PROVIDERS.map((p) => (
                <label
                  key={p.value}
                  className={`flex cursor-pointer items-start gap-3 rounded-lg border px-3 py-2.5 text-sm ${
                    provider === p.value ? 'border-brand-600 bg-brand-50/40' : 'border-slate-200 hover:border-slate-300'
                  }`}
                >
                  <input
                    type="radio"
                    name="provider"
                    value={p.value}
                    checked={provider === p.value}
                    onChange={() => {
                      setProvider(p.value);
                      set({ region: p.value === 'gcs' ? 'auto' : 'us-east-1' });
                    }}
                    className="mt-0.5 size-4 accent-brand-600"
                  />
                  <span>
                    <span className="block font-medium text-slate-900">{p.label}</span>
                    <span className="block text-xs text-slate-500">{p.hint}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>

          <div className="mt-6 grid grid-cols-1 gap-5 sm:grid-cols-2">
            {provider === 's3_compatible' ? (
              <Field
                label="Endpoint"
                className="sm:col-span-2"
                hint="The server’s S3 URL, e.g. https://minio.example.com:9000."
                error={fieldError(errors, 'destination.endpoint')}
              >
                {(p) => <input {...p} {...text('endpoint')} className={inputClass} placeholder="https://" autoComplete="off" />}
              </Field>
            ) : null}
            {s3 ? (
              <>
                <Field label="Bucket" error={fieldError(errors, 'destination.bucket')}>
                  {(p) => <input {...p} {...text('bucket')} className={inputClass} autoComplete="off" spellCheck={false} />}
                </Field>
                <Field
                  label="Region"
                  hint={provider === 'gcs' ? 'auto for GCS.' : 'The bucket’s region, e.g. eu-west-1.'}
                  error={fieldError(errors, 'destination.region')}
                >
                  {(p) => <input {...p} {...text('region')} className={inputClass} autoComplete="off" spellCheck={false} />}
                </Field>
              </>
            ) : (
              <>
                <Field label="Storage account" error={fieldError(errors, 'destination.account')}>
                  {(p) => <input {...p} {...text('account')} className={inputClass} autoComplete="off" spellCheck={false} />}
                </Field>
                <Field label="Container" error={fieldError(errors, 'destination.container')}>
                  {(p) => <input {...p} {...text('container')} className={inputClass} autoComplete="off" spellCheck={false} />}
                </Field>
              </>
            )}
            <Field
              label="Prefix"
              optional
              hint={
                <>
                  Files go to <span className="font-mono break-all">{layout}</span>
                </>
              }
              error={fieldError(errors, 'destination.prefix')}
            >
              {(p) => <input {...p} {...text('prefix')} className={inputClass} autoComplete="off" spellCheck={false} />}
            </Field>
            {provider === 's3_compatible' ? (
              <label className="flex items-center gap-2 self-center text-sm text-slate-800">
                <input
                  type="checkbox"
                  checked={f.pathStyle}
                  onChange={(e) => set({ pathStyle: e.target.checked })}
                  className="size-4 accent-brand-600"
                />
                Path-style addresses (endpoint/bucket/key)
              </label>
            ) : null}
            {provider === 'azure' ? (
              <Field
                label="Endpoint"
                optional
                hint="Only for another cloud or an emulator: the account’s blob URL."
                error={fieldError(errors, 'destination.endpoint')}
              >
                {(p) => <input {...p} {...text('endpoint')} className={inputClass} placeholder="https://" autoComplete="off" />}
              </Field>
            ) : null}
          </div>

          <fieldset className="mt-6 min-w-0">
            <legend className="text-sm font-medium text-slate-800">Authentication</legend>
            <div className="mt-2 flex flex-wrap gap-4">
              {(provider === 'aws'
                ? ([
                    ['role', 'Assume a role (recommended)'],
                    ['access_key', 'Access key'],
                  ] as const)
                : provider === 'azure'
                  ? ([
                      ['account_key', 'Account key'],
                      ['sas', 'SAS token'],
                    ] as const)
                  : ([['access_key', provider === 'gcs' ? 'HMAC key' : 'Access key']] as const)
              ).map(([v, l]) => (
                <label key={v} className="flex items-center gap-2 text-sm text-slate-800">
                  <input
                    type="radio"
                    name="cloud-auth"
                    value={v}
                    checked={provider === 'azure' ? f.azureAuth === v : provider === 'aws' ? f.auth === v : true}
                    onChange={() => set(provider === 'azure' ? { azureAuth: v as Fields['azureAuth'] } : { auth: v as Fields['auth'] })}
                    className="size-4 accent-brand-600"
                  />
                  {l}
                </label>
              ))}
            </div>
            <div className="mt-4 space-y-5">
              {needsRole ? (
                <>
                  <div className="rounded-lg border border-slate-200 px-3 py-3">
                    <p className="text-xs font-medium text-slate-500">External id DDE issued for this connection</p>
                    {issue.isError ? (
                      <div className="mt-2">
                        <ErrorNotice title="No external id could be issued" error={issue.error} onRetry={() => issue.mutate()} />
                      </div>
                    ) : (
                      <p className="mt-1 font-mono text-sm break-all text-slate-900" data-testid="external-id">
                        {issued?.external_id ?? 'Issuing…'}
                      </p>
                    )}
                    <p className="mt-1 text-xs text-slate-500">
                      The role’s trust policy must require it, so that only this connection can make DDE assume the role.
                    </p>
                    {fieldError(errors, 'destination.external_id') ? (
                      <p className="mt-1.5 text-xs text-red-700" data-testid="field-error">
                        {fieldError(errors, 'destination.external_id')}
                      </p>
                    ) : null}
                  </div>
                  {issued ? (
                    <PolicyBlock
                      title="Trust policy"
                      testId="trust-policy"
                      hint={
                        issued.principal_arn
                          ? 'Paste it as the role’s trust relationship.'
                          : 'Paste it as the role’s trust relationship; replace the placeholder with the ARN your DDE operator gives you.'
                      }
                      policy={issued.trust_policy}
                    />
                  ) : null}
                  <Field
                    label="Role ARN"
                    hint="The role DDE assumes, e.g. arn:aws:iam::123456789012:role/dde-delivery."
                    error={fieldError(errors, 'destination.role_arn')}
                  >
                    {(p) => <input {...p} {...text('roleArn')} className={inputClass} autoComplete="off" spellCheck={false} />}
                  </Field>
                </>
              ) : provider === 'azure' ? (
                f.azureAuth === 'sas' ? (
                  <Field
                    label="SAS token"
                    hint="With the create, write, read and delete permissions on the container. Stored encrypted; never shown again. DDE tells the contacts 14 days before it expires."
                    error={fieldError(errors, 'credentials.sas_token') ?? fieldError(errors, 'credentials')}
                  >
                    {(p) => <input {...p} {...text('sasToken')} type="password" className={inputClass} autoComplete="new-password" />}
                  </Field>
                ) : (
                  <Field
                    label="Account key"
                    hint="Stored encrypted; never shown again."
                    error={fieldError(errors, 'credentials.account_key') ?? fieldError(errors, 'credentials')}
                  >
                    {(p) => <input {...p} {...text('accountKey')} type="password" className={inputClass} autoComplete="new-password" />}
                  </Field>
                )
              ) : (
                <div className="grid grid-cols-1 gap-5 sm:grid-cols-2">
                  <Field
                    label={provider === 'gcs' ? 'HMAC access id' : 'Access key id'}
                    error={fieldError(errors, 'credentials.access_key_id') ?? fieldError(errors, 'credentials')}
                  >
                    {(p) => <input {...p} {...text('accessKeyId')} className={inputClass} autoComplete="off" spellCheck={false} />}
                  </Field>
                  <Field
                    label={provider === 'gcs' ? 'HMAC secret' : 'Secret access key'}
                    hint="Stored encrypted; never shown again."
                    error={fieldError(errors, 'credentials.secret_access_key')}
                  >
                    {(p) => (
                      <input {...p} {...text('secretAccessKey')} type="password" className={inputClass} autoComplete="new-password" />
                    )}
                  </Field>
                </div>
              )}
            </div>
          </fieldset>

          {s3 ? (
            <div className="mt-6 grid grid-cols-1 gap-5 sm:grid-cols-2">
              <Field label="Server-side encryption" error={fieldError(errors, 'destination.sse')}>
                {(p) => (
                  <select {...p} className={inputClass} value={f.sse} onChange={(e) => set({ sse: e.target.value as Fields['sse'] })}>
                    <option value="none">The bucket’s default</option>
                    <option value="AES256">SSE-S3 (AES256)</option>
                    <option value="aws:kms">SSE-KMS (your KMS key)</option>
                  </select>
                )}
              </Field>
              <Field label="Storage class" optional error={fieldError(errors, 'destination.storage_class')}>
                {(p) => (
                  <select {...p} className={inputClass} value={f.storageClass} onChange={(e) => set({ storageClass: e.target.value })}>
                    <option value="">The bucket’s default</option>
                    {S3_STORAGE_CLASSES.map((c) => (
                      <option key={c} value={c}>
                        {c}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {f.sse === 'aws:kms' ? (
                <Field label="KMS key" className="sm:col-span-2" hint="Its id or ARN." error={fieldError(errors, 'destination.kms_key_id')}>
                  {(p) => <input {...p} {...text('kmsKeyId')} className={inputClass} autoComplete="off" spellCheck={false} />}
                </Field>
              ) : null}
            </div>
          ) : null}

          {provider === 'aws' ? (
            <div className="mt-6">
              <PolicyBlock
                title="Permissions policy"
                testId="permissions-policy"
                hint={`What the ${f.auth === 'role' ? 'role' : 'access key’s user'} needs on the bucket, no more.`}
                policy={s3PermissionsPolicy({ bucket: f.bucket.trim(), prefix: f.prefix, sse: f.sse, kms_key_id: f.kmsKeyId.trim() })}
              />
            </div>
          ) : null}

          <div className="mt-6 border-t border-slate-100 pt-5" data-testid="connection-test">
            <div className="flex flex-wrap items-center gap-3">
              <Button onClick={runTest} busy={testMutation.isPending}>
                Test connection
              </Button>
              <p className="text-xs text-slate-500">Signs in, writes a small test object, reads it back and deletes it.</p>
            </div>
            {testProblem ? (
              <div className="mt-4">
                <ErrorNotice title="The test could not run" error={testProblem} />
              </div>
            ) : null}
            {test ? (
              <div className="mt-4 space-y-4" data-testid="test-result">
                <Notice tone={test.ok ? 'success' : 'warning'} title={test.ok ? 'Connection test passed' : 'Connection test failed'}>
                  {test.ok ? null : test.error?.message}
                </Notice>
                <TestSteps result={test} />
                {test.warnings?.length ? (
                  <Notice tone="warning" title="Needs attention soon">
                    {test.warnings.map((w) => (
                      <p key={w}>{w}</p>
                    ))}
                  </Notice>
                ) : null}
              </div>
            ) : null}
            {pressed === 'test' && fieldProblems ? (
              <p className="mt-3 text-sm text-red-700" role="alert">
                {CHECK_FIELDS}
              </p>
            ) : null}
          </div>
        </Card>

        {saveProblem ? <ErrorNotice title="The connection was not saved" error={saveProblem} /> : null}
        {pressed === 'save' && fieldProblems && !saveProblem ? (
          <p role="alert" className="text-sm text-red-700" data-testid="save-problem">
            {CHECK_FIELDS}
          </p>
        ) : null}
        <SetupFormButtons busy={save.isPending} />
      </div>
      <aside className="space-y-4">
        <EgressInfo program={program} />
        <div className="rounded-xl border border-slate-200 bg-white px-4 py-4 text-xs leading-5 text-slate-600 shadow-xs">
          <p className="font-semibold text-slate-900">How the files are laid out</p>
          <p className="mt-1">
            One prefix per file type with Hive-style date partitions, so a lake table can sit on it:{' '}
            <span className="font-mono break-all">{layout}</span>. Each file has its <span className="font-mono">.sha256</span> sidecar and
            its SHA-256 in the object’s metadata; the manifest is written last, as the completion marker. A retried window overwrites the
            same objects.
          </p>
        </div>
      </aside>
    </form>
  );
}
