// Admin UI, second pass, in a real browser:
// - the SFTP server field splits what people paste (sftp://user@host:port/folder, https://host,
//   [::1]:22) into the fields and says what it understood; unsupported or conflicting addresses are
//   refused in the form, naming the problem; a pasted address sets up a connection to a real sshd.
// - credential rotation while stopped: a new password tested and saved (the old key then no longer
//   works), a changed host key confirmed explicitly, the Activity Log entries, and a delivery with
//   the new secret.
// - /docs/api renders the interactive reference from /api/v1/openapi.json within the site's CSP,
//   with no console errors and no request to another origin.
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type ConsoleMessage, type Page } from '@playwright/test';
import { startSshd, type TestSshd } from '../test/helpers/sshd';
import { ACTIVITY_PATH, CONNECTIONS_PATH, E2E_BASE_URL, FIRSTUP, signIn } from './fixtures';
import { confirmIn, day, manifestsIn, openConnection, shoot, waitForManifests } from './ui';

function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text())) problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

test.describe.serial('paste an address, rotate credentials', () => {
  const NAME = 'E2E rotating warehouse';
  let sshd: TestSshd;
  let dir: string;

  test.beforeAll(async () => {
    sshd = await startSshd();
    dir = path.join(sshd.rootDir, 'dde-rotation');
    mkdirSync(dir);
    chownSync(dir, sshd.uid, sshd.gid);
  });
  test.afterAll(async () => {
    await sshd?.stop();
  });

  test('the server field splits a pasted address into the fields and says what it understood', async ({ page }, testInfo) => {
    test.setTimeout(120_000);
    await signIn(page, FIRSTUP);
    await page.goto(`${CONNECTIONS_PATH}/new/sftp`);
    const host = page.getByLabel('Server host');
    const note = page.getByTestId('server-address-note');

    await host.fill('https://demo.com');
    await expect(note).toHaveText('Understood as host demo.com, port 22');
    await host.blur();
    await expect(host).toHaveValue('demo.com');
    await expect(note).toHaveText('Understood as host demo.com, port 22');

    await host.fill('sftp://alice@demo.com:2222/exports');
    await host.blur();
    await expect(note).toHaveText('Understood as host demo.com, port 2222, folder /exports, user alice');
    await expect(host).toHaveValue('demo.com');
    await expect(page.getByLabel('Port')).toHaveValue('2222');
    await expect(page.getByLabel('Destination folder')).toHaveValue('/exports');
    await expect(page.getByLabel('Username')).toHaveValue('alice');
    await shoot(page, testInfo, 'server-field-note');

    await host.fill('[::1]:22');
    await host.blur();
    await expect(note).toHaveText('Understood as host ::1, port 22, folder /exports, user alice');
    await expect(host).toHaveValue('::1');

    await host.fill('ftp://files.example.com');
    await host.blur();
    await expect(page.getByText('ftp:// is not supported: DDE delivers over SFTP (SSH), not FTP.', { exact: false })).toBeVisible();
    await host.fill('sftp://demo.com/in?mode=binary');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByText('The server address has a query (“?…”)', { exact: false })).toBeVisible();

    // A port typed by hand and a different one in the address: the form names both.
    await page.getByLabel('Port').fill('2200');
    await host.fill('sftp://demo.com:2222');
    await host.blur();
    await expect(
      page.getByText('The server address says port 2222 but the port field says 2200: remove one, or make them the same.'),
    ).toBeVisible();
    await shoot(page, testInfo, 'server-field-conflict');
  });

  test('a pasted sftp:// address sets up the connection to a real sshd', async ({ page }) => {
    test.setTimeout(150_000);
    await signIn(page, FIRSTUP);
    await page.goto(`${CONNECTIONS_PATH}/new/sftp`);
    await page.getByLabel('Connection name').fill(NAME);
    await page.getByLabel('Start date').fill(day(-1));
    await page.getByLabel('Frequency').selectOption('daily');
    await page.getByLabel('Contact emails').fill('rotation@example.com');
    const host = page.getByLabel('Server host');
    await host.fill(`sftp://${sshd.username}@${sshd.host}:${sshd.port}/~/dde-rotation`);
    await host.blur();
    await expect(page.getByTestId('server-address-note')).toHaveText(
      `Understood as host ${sshd.host}, port ${sshd.port}, folder dde-rotation, user ${sshd.username}`,
    );
    await page.getByRole('radio', { name: 'Private key (PEM)' }).check();
    await page.getByRole('textbox', { name: 'Private key', exact: true }).fill(sshd.privateKey);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('host-key-fingerprint')).toHaveText(sshd.hostKeyFingerprint, { timeout: 30_000 });
    await page.getByLabel('I confirm this is my server’s key').check();
    await expect(page.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Save connection' }).click();
    await expect(page.getByText('SFTP Connection Active')).toBeVisible({ timeout: 30_000 });
    await expect(page.getByText(`to ${sshd.username}@${sshd.host}:${sshd.port}, folder dde-rotation`)).toBeVisible();
    // The first window arrives through the key.
    await waitForManifests(dir, 1, 90_000);
  });

  test('rotation while stopped: a new password, then a changed host key confirmed explicitly', async ({ page }, testInfo) => {
    test.setTimeout(240_000);
    const password = sshd.password;
    expect(password, 'the sshd harness gives its user a password when run as root').toBeTruthy();
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    const status = page.getByTestId('connection-status');
    await expect(status).toHaveText('Active');
    await expect(page.getByRole('button', { name: 'Replace credentials' })).toHaveCount(0);
    await page.getByRole('button', { name: 'Stop' }).click();
    await confirmIn(page, 'Stop');
    await expect(status).toHaveText('Stopped');

    // A new password, against the key the connection already trusts.
    await page.getByRole('button', { name: 'Replace credentials' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByText(`${sshd.username}@${sshd.host}:${sshd.port}`)).toBeVisible();
    const save = dialog.getByRole('button', { name: 'Save new credentials' });
    await expect(save).toBeDisabled();
    await dialog.getByRole('radio', { name: 'Password' }).check();
    await dialog.getByLabel('New password').fill('not the password');
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await expect(dialog.getByText('Connection test failed')).toBeVisible({ timeout: 30_000 });
    await expect(save).toBeDisabled();
    await dialog.getByLabel('New password').fill(password!);
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await expect(dialog.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
    await expect(dialog.getByTestId('host-key-changed')).toHaveCount(0);
    await shoot(page, testInfo, 'rotation');
    await save.click();
    await expect(dialog.getByTestId('credentials-replaced')).toBeVisible({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByText('Password', { exact: true })).toBeVisible();
    // From now on only the password signs in.
    writeFileSync(path.join(sshd.dir, 'authorized_keys'), '');

    // The server's host key is replaced: the dialog shows both keys and saves only once the change is confirmed.
    const oldKey = sshd.hostKeyFingerprint;
    const newKey = await sshd.rotateHostKey();
    await page.getByRole('button', { name: 'Replace credentials' }).click();
    await dialog.getByLabel('New password').fill(password!);
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    const changed = dialog.getByTestId('host-key-changed');
    await expect(changed).toBeVisible({ timeout: 30_000 });
    await expect(changed).toContainText('The server’s host key has changed');
    await expect(changed).toContainText(oldKey);
    await expect(dialog.getByTestId('new-host-key')).toHaveText(newKey);
    await expect(save).toBeDisabled();
    await shoot(page, testInfo, 'rotation-host-key-changed');
    await dialog.getByLabel('The key was replaced: trust the new key from now on').check();
    await expect(dialog.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
    await save.click();
    await expect(dialog.getByTestId('credentials-replaced')).toContainText('expects the new host key');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(page.getByText(newKey)).toBeVisible();

    // The Activity Log says who replaced the credentials, and never shows the secret.
    await page.goto(ACTIVITY_PATH);
    const entries = page.getByTestId('activity-entry').filter({ hasText: 'Connection credentials replaced' });
    await expect(entries).toHaveCount(2);
    await expect(entries.first()).toContainText(NAME);
    await expect(entries.first()).toContainText(FIRSTUP.email);
    await expect(page.locator('body')).not.toContainText(password!);
    await shoot(page, testInfo, 'rotation-activity-log');

    // Started again, a new delivery signs in with the password and expects the new key.
    await openConnection(page, NAME);
    await page.getByRole('button', { name: 'Start' }).click();
    await confirmIn(page, 'Start');
    await expect(status).toHaveText('Active');
    const before = manifestsIn(dir).length;
    await page.getByRole('tab', { name: 'Historical Data' }).click();
    await page.getByLabel('From').fill(day(-6));
    await page.getByRole('textbox', { name: /^To/ }).fill(day(-5));
    await page.getByRole('button', { name: 'Submit request' }).click();
    const request = page.getByTestId('historical-request').first();
    await expect(request.getByTestId('status-badge')).toHaveText('Completed', { timeout: 120_000 });
    await waitForManifests(dir, before + 1, 60_000);
  });
});

test('/docs/api renders the interactive reference from the OpenAPI document, within the CSP and with no console errors', async ({
  page,
}, testInfo) => {
  test.setTimeout(120_000);
  const problems = watchConsole(page);
  const elsewhere: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(E2E_BASE_URL) && !url.startsWith('data:') && !url.startsWith('blob:')) elsewhere.push(url);
  });
  const document = page.waitForResponse((r) => r.url().endsWith('/api/v1/openapi.json') && r.status() === 200);
  await page.goto('/docs/api');
  await document;
  // The curl guide stays.
  await expect(page.getByText('-d grant_type=client_credentials', { exact: false })).toBeVisible();
  const reference = page.getByTestId('api-reference');
  // Rendered from the document: its title, then every tag; a tag opens on its operations, an operation on its details.
  await expect(reference.getByRole('heading', { name: 'Direct Data Export API' })).toBeVisible({ timeout: 30_000 });
  await reference.getByRole('heading', { name: 'Management', level: 2 }).click();
  const rotate = reference.getByText('Replace a stopped connection’s secret (SFTP, database, S3 or Azure)').first();
  await expect(rotate).toBeVisible();
  await rotate.click();
  await expect(
    reference.getByText('Only while the connection is stopped (409 otherwise; also for an API connection', { exact: false }),
  ).toBeVisible();
  // "Test Request" calls go to this server, not the host name the document was generated for.
  await expect(reference.getByText(`${new URL(E2E_BASE_URL).host}/api/v1/connections/`, { exact: false }).first()).toBeVisible();
  await page.waitForLoadState('networkidle');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, testInfo, 'api-docs');
  // The reference itself, whole, at both widths (the page above it is the guide).
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await reference.scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await reference.screenshot({ path: testInfo.outputPath(`api-reference-${width}.png`) });
  }
  expect(problems).toEqual([]);
  expect(elsewhere).toEqual([]);
});
