// OpenPGP-encrypted SFTP deliveries set up through the form: the admin pastes the customer's public
// key (made by gpg), the form shows its fingerprint to confirm (a private key is refused, saying
// so), the connection page says "Encrypted to OpenPGP key …", and what lands on a real OpenSSH
// server is <name>.gz.pgp that `gpg --decrypt` opens, with sidecars `sha256sum -c` passes on.
import { chownSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startGpg, type TestGpg, type TestKey } from '../test/helpers/gpg';
import { startSshd, type TestSshd } from '../test/helpers/sshd';
import { ACTIVITY_PATH, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { confirmIn, day, filesIn, manifestsIn, openConnection, shoot, verifyChecksums, waitForManifests } from './ui';

const NAME = 'E2E encrypted warehouse';
const grouped = (hex: string) => hex.replace(/(.{4})(?!$)/g, '$1 ');

test.describe.serial('OpenPGP-encrypted deliveries', () => {
  let sshd: TestSshd;
  let gpg: TestGpg;
  let key: TestKey;
  let dir: string;

  test.beforeAll(async () => {
    sshd = await startSshd();
    dir = path.join(sshd.rootDir, 'encrypted');
    mkdirSync(dir);
    chownSync(dir, sshd.uid, sshd.gid);
    gpg = startGpg();
    key = gpg.generate('Acme Data Team <data@acme.example>');
  });
  test.afterAll(async () => {
    await sshd?.stop();
    gpg?.cleanup();
  });

  test('paste the key, confirm its fingerprint, save: the files land encrypted, gpg decrypts them, checksums verify', async ({
    page,
  }, testInfo) => {
    test.setTimeout(180_000);
    // What the page sends to be checked: never a private key.
    const checkedKeys: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/connections/pgp-key')) checkedKeys.push(r.postData() ?? '');
    });
    await signIn(page, FIRSTUP);
    await page.goto(CONNECTIONS_PATH);
    await page.getByRole('link', { name: 'Set Up SFTP' }).click();
    await page.getByLabel('Connection name').fill(NAME);
    await page.getByLabel('Start date').fill(day(-2));
    await page.getByLabel('Frequency').selectOption('daily');
    await page.getByLabel('Contact emails').fill('pgp-contact@example.com');
    await page.getByLabel('Server host').fill(sshd.host);
    await page.getByLabel('Port').fill(String(sshd.port));
    await page.getByLabel('Destination folder').fill('encrypted');
    await page.getByLabel('Username').fill(sshd.username);
    await page.getByRole('radio', { name: 'Private key (PEM)' }).check();
    await page.getByRole('textbox', { name: 'Private key', exact: true }).fill(sshd.privateKey);

    const keyField = page.getByRole('textbox', { name: /OpenPGP public key/ });
    // A private key is refused in the browser, and the form says why.
    await keyField.fill(gpg.exportSecret('data@acme.example'));
    await expect(page.getByTestId('pgp-key').getByTestId('field-error')).toHaveText(/^This is a private key\. Paste the public key only/);
    await expect(page.getByTestId('pgp-key-fingerprint')).toHaveCount(0);
    await shoot(page, testInfo, 'pgp-key-refused');

    // The public key: its fingerprint as gpg shows it, and the user ID, to confirm.
    await keyField.fill(key.armoredPublic);
    await expect(page.getByTestId('pgp-key-fingerprint')).toHaveText(grouped(key.fingerprint));
    await expect(page.getByRole('list', { name: 'User IDs of the key' })).toHaveText('Acme Data Team <data@acme.example>');
    await expect(page.getByText('Does not expire.')).toBeVisible();

    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('host-key-fingerprint')).toHaveText(sshd.hostKeyFingerprint, { timeout: 30_000 });
    await page.getByLabel('I confirm this is my server’s key').check();
    await expect(page.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
    // Saving with the key not yet confirmed is refused in the form.
    await page.getByRole('button', { name: 'Save connection' }).click();
    await expect(page.getByText('Confirm that the fingerprint is the customer’s key.')).toBeVisible();
    await page.getByLabel('I confirm this is the customer’s key').check();
    await expect(page.getByText('Confirm that the fingerprint is the customer’s key.')).toHaveCount(0);
    expect(checkedKeys.length).toBeGreaterThan(0);
    expect(checkedKeys.filter((b) => b.includes('PRIVATE KEY'))).toEqual([]);
    await page.getByTestId('pgp-key').scrollIntoViewIfNeeded();
    await shoot(page, testInfo, 'pgp-key');

    await page.getByRole('button', { name: 'Save connection' }).click();
    await expect(page.getByText('SFTP Connection Active')).toBeVisible({ timeout: 30_000 });
    await expect(page.getByText(`Data files are encrypted to OpenPGP key ${grouped(key.fingerprint)}.`)).toBeVisible();

    // The closed windows since the start date are delivered, encrypted.
    const [manifestName] = await waitForManifests(dir, 1, 120_000);
    await expect.poll(() => filesIn(dir).filter((f) => f.startsWith('.')), { timeout: 60_000 }).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(dir, manifestName), 'utf8')) as {
      encrypted_to: string;
      files: { name: string; bytes: number; sha256: string; plaintext_sha256: string }[];
    };
    expect(manifest.encrypted_to).toBe(grouped(key.fingerprint));
    expect(manifest.files.length).toBeGreaterThan(0);
    const checked = verifyChecksums(dir);
    for (const f of manifest.files) {
      expect(f.name).toMatch(/\.gz\.pgp$/);
      expect(checked).toContain(`${f.name}: OK`);
      const delivered = readFileSync(path.join(dir, f.name));
      expect(delivered.length).toBe(f.bytes);
      const gzip = gpg.decrypt(path.join(dir, f.name));
      expect(createHash('sha256').update(gzip).digest('hex')).toBe(f.plaintext_sha256);
      expect(gzip.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
    // Nothing readable without the key: no plain data file in the folder.
    expect(filesIn(dir).filter((f) => f.endsWith('.gz'))).toEqual([]);

    await openConnection(page, NAME);
    await expect(page.getByTestId('pgp-encryption')).toContainText(`Encrypted to OpenPGP key ${grouped(key.fingerprint)}`);
    await expect(page.getByTestId('pgp-encryption')).toContainText('Acme Data Team <data@acme.example>');
    await shoot(page, testInfo, 'pgp-connection-detail');
  });
  test('stopped, the key is replaced with the renewed one: the page, the Activity Log and the next delivery use it', async ({
    page,
  }, testInfo) => {
    test.setTimeout(180_000);
    const renewed = gpg.generate('Acme Data Team 2027 <data-2027@acme.example>', { expire: '1y' });
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    const status = page.getByTestId('connection-status');
    // Only while stopped.
    await expect(page.getByRole('button', { name: 'Replace OpenPGP key' })).toHaveCount(0);
    await page.getByRole('button', { name: 'Stop' }).click();
    await confirmIn(page, 'Stop');
    await expect(status).toHaveText('Stopped');

    await page.getByRole('button', { name: 'Replace OpenPGP key' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByTestId('current-pgp-key')).toHaveText(grouped(key.fingerprint));
    // Saving needs a key, and its fingerprint confirmed.
    await dialog.getByRole('button', { name: 'Save key' }).click();
    await expect(dialog.getByText('Paste the customer’s new OpenPGP public key.')).toBeVisible();
    await dialog.getByRole('textbox', { name: /New OpenPGP public key/ }).fill(renewed.armoredPublic);
    await expect(dialog.getByTestId('pgp-key-fingerprint')).toHaveText(grouped(renewed.fingerprint));
    await expect(dialog.getByText(/^Deliveries stop when this key expires on/)).toBeVisible();
    await dialog.getByRole('button', { name: 'Save key' }).click();
    await expect(dialog.getByText('Confirm that the fingerprint is the customer’s key.')).toBeVisible();
    await dialog.getByLabel('I confirm this is the customer’s key').check();
    await shoot(page, testInfo, 'pgp-key-replace');
    await dialog.getByRole('button', { name: 'Save key' }).click();
    await expect(dialog.getByTestId('pgp-key-replaced')).toContainText(grouped(renewed.fingerprint));
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('pgp-encryption')).toContainText(`Encrypted to OpenPGP key ${grouped(renewed.fingerprint)}`);
    await expect(page.getByTestId('pgp-encryption')).toContainText('Acme Data Team 2027 <data-2027@acme.example>');

    // The Activity Log, filtered to key replacements, says who replaced which key with which.
    await page.goto(`${ACTIVITY_PATH}?action=connection.pgp_key_replaced`);
    await expect(page.getByLabel('Action')).toHaveValue('connection.pgp_key_replaced');
    const entries = page.getByTestId('activity-entry');
    await expect(entries).toHaveCount(1);
    await expect(entries.first()).toContainText('Connection OpenPGP key replaced');
    await expect(entries.first()).toContainText(NAME);
    await expect(entries.first()).toContainText(FIRSTUP.email);
    await shoot(page, testInfo, 'pgp-key-replaced-activity-log');

    // Started again, the next delivery (a historical request's month) is encrypted to the renewed key.
    await openConnection(page, NAME);
    await page.getByRole('button', { name: 'Start' }).click();
    await confirmIn(page, 'Start');
    await expect(status).toHaveText('Active');
    const before = manifestsIn(dir);
    await page.getByRole('tab', { name: 'Historical Data' }).click();
    await page.getByLabel('From').fill(day(-6));
    await page.getByRole('textbox', { name: /^To/ }).fill(day(-5));
    await page.getByRole('button', { name: 'Submit request' }).click();
    await expect(page.getByTestId('historical-request').first().getByTestId('status-badge')).toHaveText('Completed', { timeout: 120_000 });
    await waitForManifests(dir, before.length + 1, 60_000);
    const [added] = manifestsIn(dir).filter((m) => !before.includes(m));
    const manifest = JSON.parse(readFileSync(path.join(dir, added), 'utf8')) as { encrypted_to: string; files: { name: string }[] };
    expect(manifest.encrypted_to).toBe(grouped(renewed.fingerprint));
    for (const f of manifest.files) expect(gpg.decrypt(path.join(dir, f.name)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });
});
