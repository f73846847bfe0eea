// Set Up Cloud Storage through the page, against a real S3-compatible server: Ceph's RADOS Gateway
// started for this spec (test/helpers/rgw.ts, a one-node cluster on 127.0.0.1). Amazon S3 offers role
// assumption first, with the external id DDE issued and the trust policy to paste; the S3-compatible
// form refuses a bad bucket name under its field, naming the value, without sending anything; a wrong
// secret fails the test at its step; the right keys pass each step; Save creates the connection, its
// contacts get the "connection active" email, and its first window is delivered into the bucket in
// the lake layout, manifest last. A Brand Super Admin can see, not set up.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { expect, test } from '@playwright/test';
import { startRgw, type TestRgw } from '../test/helpers/rgw';
import type { ReceivedMail } from '../test/helpers/smtp';
import { BRAND, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { day, shoot } from './ui';

let rgw: TestRgw;
let s3: S3Client;
let bucket: string;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  rgw = await startRgw();
  s3 = rgw.client();
  bucket = await rgw.createBucket('dde-e2e-lake');
});

test.afterAll(async () => {
  s3?.destroy();
  await rgw?.stop();
});

function subjectsTo(address: string): string[] {
  const dir = process.env.E2E_MAIL_DIR;
  if (!dir) throw new Error('E2E_MAIL_DIR is not set: run the specs through `npm run test:e2e`.');
  return readdirSync(dir)
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as ReceivedMail)
    .filter((m) => m.to.includes(address))
    .map((m) => {
      const head = m.raw.slice(0, m.raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
      return /^Subject: (.*)$/m.exec(head)?.[1] ?? '';
    });
}

async function keys(prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

test('sets up an S3-compatible bucket (Ceph RGW) through the form: refusals, the test step by step, delivery', async ({ page }, info) => {
  test.setTimeout(300_000);
  const contact = 'lake-team@e2e.example.com';
  // Exact names: the provider choices' descriptions mention buckets and endpoints too.
  const box = (name: string) => page.getByRole('textbox', { name, exact: true });
  await signIn(page, FIRSTUP);
  await page.getByRole('link', { name: 'Set Up Cloud Storage' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Set Up Cloud Storage' })).toBeVisible();

  // Amazon S3 first: role assumption with the external id DDE issued, and the policies to paste.
  await expect(page.getByRole('radio', { name: /^Amazon S3/ })).toBeChecked();
  const externalId = page.getByTestId('external-id');
  await expect(externalId).toHaveText(/^dde-[0-9a-f]{24}-[0-9a-f]{16}$/);
  const trust = page.getByTestId('trust-policy');
  await expect(trust).toContainText('"sts:ExternalId": "' + (await externalId.textContent()) + '"');
  await expect(trust.getByRole('button', { name: 'Copy trust policy' })).toBeVisible();
  await box('Bucket').fill('acme-lake');
  await expect(page.getByTestId('permissions-policy')).toContainText('"Resource": "arn:aws:s3:::acme-lake/dde/*"');
  await shoot(page, info, 'cloud-storage-setup-role');

  // S3-compatible: its endpoint and an access key. A bad bucket name is refused in the form, by name.
  await page.getByTestId('provider-choice').getByText('S3-compatible', { exact: true }).click();
  await expect(page.getByTestId('external-id')).toHaveCount(0);
  await box('Endpoint').fill(rgw.endpoint);
  await box('Bucket').fill('Bad_Bucket');
  await box('Access key id').fill(rgw.accessKeyId);
  await page.getByLabel('Secret access key', { exact: true }).fill('not-the-secret');
  const tests: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/connections/destination-test')) tests.push(r.url());
  });
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByTestId('field-error').first()).toHaveText(/^The bucket name is 3 to 63 .* \(you entered “Bad_Bucket”\)\.$/);
  await expect(page.getByText('Check the highlighted fields.')).toBeVisible();
  expect(tests).toEqual([]);
  await shoot(page, info, 'cloud-storage-validation');

  // A wrong secret: the server's refusal at its step.
  await box('Bucket').fill(bucket);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByText('Connection test failed')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('test-steps').getByRole('listitem').filter({ hasText: 'Failed' })).toHaveCount(1);

  // The right keys: each step passes.
  await page.getByLabel('Secret access key', { exact: true }).fill(rgw.secretAccessKey);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
  const steps = page.getByTestId('test-steps').getByRole('listitem');
  await expect(steps).toHaveText([
    /Passed.*Credentials/,
    /Passed.*Write a test object/,
    /Passed.*Read it back/,
    /Passed.*Encryption as set up/,
    /Passed.*Delete the test object/,
  ]);
  await shoot(page, info, 'cloud-storage-test-passed');

  // Save: the schedule first (refused until the contacts are given), then the connection.
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('Enter at least one contact email.')).toBeVisible();
  await page.getByLabel('Connection name').fill('RGW lake');
  await page.getByLabel('Start date').fill(day(-1));
  await page.getByLabel('Frequency').selectOption('daily');
  await page.getByLabel('File format').selectOption('csv');
  await page.getByLabel('Contact emails').fill(contact);
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('Cloud Storage Connection Active')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('cloud-destination')).toHaveText(`s3://${bucket}/dde at ${rgw.endpoint}`);
  await shoot(page, info, 'cloud-storage-created');
  expect(await keys('dde/.dde-write-test')).toEqual([]);

  await expect.poll(() => subjectsTo(contact), { timeout: 60_000 }).toContain('DDE cloud storage connection active: RGW lake');

  // Its first window is delivered into the lake layout, the manifest last.
  await expect
    .poll(async () => (await keys('dde/incremental/manifest/')).length, { timeout: 180_000, message: 'a manifest in the bucket' })
    .toBeGreaterThan(0);
  const delivered = await keys('dde/');
  console.log(`cloud-storage e2e: s3://${bucket}/ after the first delivery:\n  ${delivered.join('\n  ')}`);
  for (const type of ['activity', 'campaign', 'user'])
    expect(delivered.some((k) => new RegExp(`^dde/incremental/${type}/dt=\\d{4}-\\d{2}-\\d{2}/.+\\.gz$`).test(k))).toBe(true);
  expect(delivered.filter((k) => k.endsWith('.sha256')).length).toBeGreaterThanOrEqual(3);

  await page.getByRole('link', { name: 'View connection' }).click();
  await expect(page.getByTestId('connection-name')).toHaveText('RGW lake');
  await expect(page.getByText(`s3://${bucket}/dde at ${rgw.endpoint}`).first()).toBeVisible();
});

test('a Brand Super Admin sees no set-up and the page says why', async ({ page }, info) => {
  await signIn(page, BRAND);
  await expect(page.getByRole('link', { name: 'Set Up Cloud Storage' })).toHaveCount(0);
  await page.goto(`${CONNECTIONS_PATH}/new/cloud-storage`);
  await expect(page.getByText('Your role can view, not change')).toBeVisible();
  await shoot(page, info, 'cloud-storage-brand');
});
