// Setting up a cloud storage connection through the management API, as the Set Up Cloud Storage page
// does: an external id issued for role assumption (with its trust policy), the destination's set-up
// test before anything is saved (each step with its outcome, bad input refused naming the field and
// its value, nothing stored), the "connection active" email of a new cloud connection, and the daily
// check's one email before a SAS token expires. The storage is Azurite (test/helpers/azurite.ts); the
// same test against Ceph RGW is e2e/cloud-storage.spec.ts, through the page.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as destinationTestRoute } from '@/app/api/v1/connections/destination-test/route';
import { POST as externalIdRoute } from '@/app/api/v1/connections/external-id/route';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { closeDatabase } from '@/db/client';
import { connections, notifications, type Account } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { isIssuedExternalId } from '@/lib/destinations/s3-external-id';
import { PRINCIPAL_PLACEHOLDER, s3PermissionsPolicy, s3TrustPolicy } from '@/lib/destinations/s3-settings';
import { checkConnections } from '@/lib/notify';
import { createAccount, createPrograms, noParams, request, sessionCookie, useTestEnv } from './helpers/auth';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type TestAzurite } from './helpers/azurite';
import { createTestDatabase, type TestDatabase } from './helpers/db';

const PROGRAM = 86;
const start = new Date('2026-11-20T00:00:00Z');
let t: TestDatabase;
let dataDir: string;
let azurite: TestAzurite;
let firstup: string;
let brand: string;
type Json = Record<string, unknown>;
const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);

const sas = (expiresOn: Date) =>
  generateBlobSASQueryParameters(
    { containerName: 'setup', permissions: ContainerSASPermissions.parse('racwdl'), startsOn: new Date(Date.now() - 3_600_000), expiresOn },
    credential,
  ).toString();

const azure = (over: Json = {}, credentials: Json = { account_key: AZURITE_KEY }): Json => ({
  kind: 'azure_blob',
  destination: { account: AZURITE_ACCOUNT, container: 'setup', prefix: 'dde', endpoint: azurite.endpoint, auth: 'account_key', ...over },
  credentials,
});

async function call(route: typeof createRoute, url: string, cookie: string, json?: unknown): Promise<{ status: number; body: Json }> {
  const res = await route(request('POST', url, { cookie, ...(json === undefined ? {} : { json }) }), noParams);
  return { status: res.status, body: (await res.json()) as Json };
}
const testDestination = (json: unknown, cookie = firstup) =>
  call(destinationTestRoute, `/api/v1/connections/destination-test?program=${PROGRAM}`, cookie, json);
const create = (json: Json) =>
  call(createRoute, `/api/v1/connections?program=${PROGRAM}`, firstup, {
    name: 'Lake',
    frequency: 'every_4_hours',
    start_date: start.toISOString(),
    contact_emails: ['data@customer.example'],
    ...json,
  });
type Report = { ok: boolean; steps: { step: string; status: string; error?: { message: string } }[]; error?: { message: string } };
const errorOf = (r: { body: Json }) => r.body.error as { code: string; message: string; details?: { fields?: { path: string }[] } };

beforeAll(async () => {
  azurite = await startAzurite();
  await new BlobServiceClient(azurite.endpoint, credential).getContainerClient('setup').create();
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-cloud-setup-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Cloud' }]);
  setClock(new Date(start.getTime() + 3_600_000));
  const admin: Account = await createAccount(t.db, { role: 'firstup_super_admin' });
  firstup = await sessionCookie(admin);
  const brandAdmin: Account = await createAccount(t.db, { role: 'brand_super_admin', programIds: [PROGRAM] });
  brand = await sessionCookie(brandAdmin);
}, 120_000);

afterAll(async () => {
  resetClock();
  await azurite?.stop();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('external id for S3 role assumption', () => {
  it('issues a fresh id DDE recognises, with the trust policy naming it (a placeholder principal while none is configured)', async () => {
    const a = await call(externalIdRoute, `/api/v1/connections/external-id?program=${PROGRAM}`, firstup);
    const b = await call(externalIdRoute, `/api/v1/connections/external-id?program=${PROGRAM}`, firstup);
    expect(a.status).toBe(200);
    const data = a.body.data as { external_id: string; principal_arn: string | null; trust_policy: Json };
    expect(isIssuedExternalId(data.external_id)).toBe(true);
    expect((b.body.data as Json).external_id).not.toBe(data.external_id);
    expect(data.principal_arn).toBeNull();
    expect(data.trust_policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: PRINCIPAL_PLACEHOLDER },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': data.external_id } },
        },
      ],
    });
  });

  it('names the configured principal (DDE_AWS_PRINCIPAL_ARN); a Brand Super Admin may not ask', async () => {
    const principal = 'arn:aws:iam::123456789012:role/dde-delivery';
    useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined, DDE_AWS_PRINCIPAL_ARN: principal });
    try {
      firstup = await sessionCookie((await createAccount(t.db, { role: 'firstup_super_admin' })) as Account);
      brand = await sessionCookie((await createAccount(t.db, { role: 'brand_super_admin', programIds: [PROGRAM] })) as Account);
      const r = await call(externalIdRoute, `/api/v1/connections/external-id?program=${PROGRAM}`, firstup);
      const data = r.body.data as { external_id: string; principal_arn: string; trust_policy: Json };
      expect(data.principal_arn).toBe(principal);
      expect(data.trust_policy).toEqual(s3TrustPolicy(principal, data.external_id));
      expect((await call(externalIdRoute, `/api/v1/connections/external-id?program=${PROGRAM}`, brand)).status).toBe(403);
    } finally {
      // The encryption key changes with the environment: the next tests sign in again under it.
      useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
      firstup = await sessionCookie((await createAccount(t.db, { role: 'firstup_super_admin' })) as Account);
      brand = await sessionCookie((await createAccount(t.db, { role: 'brand_super_admin', programIds: [PROGRAM] })) as Account);
    }
  });

  it('the permissions policy: write, abort, read back and delete under the prefix; listing uploads; the KMS key with SSE-KMS', () => {
    const p = s3PermissionsPolicy({
      bucket: 'acme-lake',
      prefix: 'dde/exports/',
      sse: 'aws:kms',
      kms_key_id: 'arn:aws:kms:eu-west-1:1:key/k',
    });
    expect(p.Statement.map((s) => [s.Action, s.Resource])).toEqual([
      [['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'], 'arn:aws:s3:::acme-lake/dde/exports/*'],
      ['s3:ListBucketMultipartUploads', 'arn:aws:s3:::acme-lake'],
      [['kms:GenerateDataKey', 'kms:Decrypt'], 'arn:aws:kms:eu-west-1:1:key/k'],
    ]);
    expect(s3PermissionsPolicy({ bucket: 'b', prefix: '' }).Statement[0].Resource).toBe('arn:aws:s3:::b/*');
  });
});

describe('the set-up test before saving', () => {
  it('passes step by step against Azurite and stores nothing', async () => {
    const r = await testDestination(azure());
    expect(r.status).toBe(200);
    const report = r.body.data as Report;
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => `${s.step}:${s.status}`)).toEqual(['credentials:ok', 'write:ok', 'read:ok', 'delete:ok']);
    expect(await t.db.select().from(connections)).toEqual([]);
  });

  it('a missing container fails at the write step with what to do (200, ok false)', async () => {
    const report = (await testDestination(azure({ container: 'nowhere' }))).body.data as Report;
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => s.status)).toEqual(['ok', 'failed', 'skipped', 'skipped']);
    expect(report.error?.message).toBe(
      `The container "nowhere" does not exist in the account ${AZURITE_ACCOUNT}. Check its name (or create it).`,
    );
  });

  it('refuses bad input naming the field and the value, before any request', async () => {
    const bad = await testDestination(azure({ container: 'Bad_Container' }));
    expect(bad.status).toBe(422);
    expect(errorOf(bad).message).toBe(
      'Container: The container name is 3 to 63 lowercase letters, digits and single hyphens (you entered “Bad_Container”).',
    );
    expect(errorOf(bad).details?.fields?.[0].path).toBe('destination.container');
    const bucket = await testDestination({
      kind: 's3',
      destination: { provider: 's3_compatible', bucket: 'Bad_Bucket', endpoint: 'http://127.0.0.1:1', auth: 'access_key' },
      credentials: { access_key_id: 'a', secret_access_key: 'b' },
    });
    expect(errorOf(bucket).message).toMatch(/^Bucket: The bucket name is 3 to 63 .* \(you entered “Bad_Bucket”\)\.$/);
    const kind = await testDestination({ kind: 'ftp' });
    expect(errorOf(kind).message).toBe('Kind: kind must be "s3" or "azure_blob" (you entered “ftp”).');
  });

  it('refuses an external id DDE did not issue (422 on destination.external_id); a Brand Super Admin may not test', async () => {
    const forged = await testDestination({
      kind: 's3',
      destination: {
        provider: 'aws',
        bucket: 'acme-lake',
        auth: 'role',
        role_arn: 'arn:aws:iam::123456789012:role/dde',
        external_id: 'dde-000000000000000000000000-0000000000000000',
      },
    });
    expect(forged.status).toBe(422);
    expect(errorOf(forged).details?.fields?.[0].path).toBe('destination.external_id');
    expect((await testDestination(azure(), brand)).status).toBe(403);
  });
});

describe('emails of a cloud connection', () => {
  it('"connection active" after set-up: the service, how DDE signs in (never the key), where files go', async () => {
    const r = await create({ ...azure(), name: 'Azure lake' });
    expect(r.status).toBe(201);
    const id = (r.body.data as Json).id as string;
    const [mail] = await t.db
      .select()
      .from(notifications)
      .where(and(eq(notifications.connectionId, id), eq(notifications.kind, 'connection_active')));
    expect(mail.subject).toBe('DDE cloud storage connection active: Azure lake');
    expect(mail.to).toEqual(['data@customer.example']);
    expect(mail.body).toContain(
      'The Azure Blob Storage connection "Azure lake" passed its set-up test (a test object was written, read back and deleted) and is active.',
    );
    expect(mail.body).toContain(`Destination: ${azurite.endpoint}/setup/dde`);
    expect(mail.body).toContain('DDE signs in with: the storage account key (stored encrypted)');
    expect(mail.body).toContain('  dde/incremental/activity/dt=2026-11-20/<file>');
    expect(mail.body).not.toContain(AZURITE_KEY);
  });

  it('one email before a SAS token expires (from the daily check), none again the next day', async () => {
    const expires = new Date(Date.now() + 10 * 86_400_000);
    const r = await create({ ...azure({ auth: 'sas', prefix: 'sas' }, { sas_token: sas(expires) }), name: 'SAS lake' });
    expect(r.status).toBe(201);
    const id = (r.body.data as Json).id as string;
    const expiring = () =>
      t.db
        .select()
        .from(notifications)
        .where(and(eq(notifications.connectionId, id), eq(notifications.kind, 'credential_expiring')));
    // A month before: nothing to say yet.
    setClock(new Date(expires.getTime() - 30 * 86_400_000));
    await checkConnections(t);
    expect(await expiring()).toEqual([]);
    // Five days before, on two days in a row: one email.
    resetClock();
    setClock(new Date(expires.getTime() - 5 * 86_400_000 + 60_000));
    const [verdict] = (await checkConnections(t)).filter((v) => v.connectionId === id);
    expect(verdict.ok).toBe(true);
    expect(verdict.credential?.reported).toBe('expiring');
    setClock(new Date(expires.getTime() - 4 * 86_400_000));
    await checkConnections(t);
    const mails = await expiring();
    expect(mails).toHaveLength(1);
    const when = new Date(Math.floor(expires.getTime() / 1000) * 1000).toISOString().replace('T', ' ').slice(0, 16);
    expect(mails[0].subject).toBe(`DDE SAS token expires on ${when.slice(0, 10)}: SAS lake`);
    expect(mails[0].body).toContain(
      `The SAS token that DDE delivers the files of the connection "SAS lake" with expires at ${when} UTC (in 5 days).`,
    );
    expect(mails[0].body).not.toContain('sig=');
    setClock(new Date(start.getTime() + 3_600_000));
  });
});
