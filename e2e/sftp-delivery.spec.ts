// SFTP connections set up through the form and delivered to for real:
// - a real OpenSSH sshd on 127.0.0.1: the first delivery lands and `sha256sum -c` passes, the
//   contacts get the "connection active" email over SMTP; stop, edit while stopped, start; a
//   delivery fails because the folder went missing, the admin fixes the server and presses Retry;
//   delete with typed confirmation.
// - an in-process SFTP server that stalls uploads (a fault only it can inject): pause immediately
//   during an upload leaves nothing under a final name, resume delivers; a historical request is
//   cancelled while its first month is being uploaded, and nothing of it is left half-delivered.
import { chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { startSftpSink, type SftpSink } from '../scripts/dev/sftp-sink';
import { startSshd, type TestSshd } from '../test/helpers/sshd';
import type { ReceivedMail } from '../test/helpers/smtp';
import { ACTIVITY_PATH, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { checkManifest, confirmIn, day, filesIn, openConnection, shoot, verifyChecksums, waitForManifests } from './ui';

/** Messages the e2e SMTP listener received for `address`. */
function mailsTo(address: string): ReceivedMail[] {
  const dir = process.env.E2E_MAIL_DIR;
  if (!dir) throw new Error('E2E_MAIL_DIR is not set: run the specs through `npm run test:e2e`.');
  return readdirSync(dir)
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as ReceivedMail)
    .filter((m) => m.to.includes(address));
}

/** The Subject headers of those messages, unfolded (long headers continue on indented lines). */
const subjects = (address: string) =>
  mailsTo(address).map((m) => {
    const head = m.raw.slice(0, m.raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
    return /^Subject: (.*)$/m.exec(head)?.[1] ?? '';
  });

type Server = {
  host: string;
  port: number;
  username: string;
  folder: string;
  auth: { password: string } | { privateKey: string };
  fingerprint: string;
};

/**
 * Fills Set Up SFTP, tests the connection, checks the fingerprint shown is the server's, confirms it
 * and saves. With `shots`, also checks the form's own refusals on the way and takes screenshots.
 */
async function setUpSftp(page: Page, name: string, contact: string, server: Server, shots?: TestInfo) {
  await page.goto(CONNECTIONS_PATH);
  if (shots) await shoot(page, shots, 'connections-list-firstup');
  await page.getByRole('link', { name: 'Set Up SFTP' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Set Up SFTP' })).toBeVisible();
  if (shots) {
    await expect(page.getByTestId('egress-info')).toBeVisible();
    await expect(page.getByLabel('Port')).toHaveValue('22');
    // Field-level validation before anything is sent.
    await page.getByRole('button', { name: 'Save connection' }).click();
    await expect(page.getByText('Enter the server host.')).toBeVisible();
    await expect(page.getByText('Enter at least one contact email.')).toBeVisible();
    await shoot(page, shots, 'sftp-setup-validation');
  }
  await page.getByLabel('Connection name').fill(name);
  await page.getByLabel('Start date').fill(day(-2));
  await page.getByLabel('Frequency').selectOption('daily');
  await page.getByLabel('Contact emails').fill(contact);
  await page.getByLabel('Server host').fill(server.host);
  await page.getByLabel('Port').fill(String(server.port));
  await page.getByLabel('Destination folder').fill(server.folder);
  await page.getByLabel('Username').fill(server.username);
  if ('privateKey' in server.auth) {
    await page.getByRole('radio', { name: 'Private key (PEM)' }).check();
    await page.getByRole('textbox', { name: 'Private key', exact: true }).fill(server.auth.privateKey);
  } else {
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill(server.auth.password);
  }
  if (shots) {
    // Saving without a tested, confirmed host key is refused in the form.
    await page.getByRole('button', { name: 'Save connection' }).click();
    await expect(page.getByText('Test the connection first')).toBeVisible();
  }
  // Two steps: the host key first (no credential sent), then sign-in once the key is confirmed.
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByText('Host key received')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('host-key-fingerprint')).toHaveText(server.fingerprint);
  await page.getByLabel('I confirm this is my server’s key').check();
  await expect(page.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('test-steps').locator('li')).not.toHaveCount(0);
  if (shots) await shoot(page, shots, 'sftp-setup-tested');
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('SFTP Connection Active')).toBeVisible({ timeout: 30_000 });
  if (shots) await shoot(page, shots, 'sftp-setup-active');
}

function runRows(page: Page, status: string) {
  return page.getByTestId('run-row').filter({ has: page.getByTestId('status-badge').getByText(status, { exact: true }) });
}

test.describe.serial('a real OpenSSH server', () => {
  const NAME = 'E2E OpenSSH warehouse';
  const CONTACT = 'sshd-contact@example.com';
  let sshd: TestSshd;
  let dir: string;

  test.beforeAll(async () => {
    sshd = await startSshd();
    dir = path.join(sshd.rootDir, 'dde-e2e');
    mkdirSync(dir);
    chownSync(dir, sshd.uid, sshd.gid);
  });
  test.afterAll(async () => {
    await sshd?.stop();
  });

  test('set up through the form with a private key: the first delivery lands, checksums verify, the contacts are told', async ({
    page,
  }, testInfo) => {
    test.setTimeout(150_000);
    await signIn(page, FIRSTUP);
    await setUpSftp(
      page,
      NAME,
      CONTACT,
      {
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        folder: 'dde-e2e',
        auth: { privateKey: sshd.privateKey },
        fingerprint: sshd.hostKeyFingerprint,
      },
      testInfo,
    );

    // The scheduled windows since the start date are exported and delivered without waiting for the minute's tick.
    const [manifest] = await waitForManifests(dir, 1, 90_000);
    expect(manifest).toMatch(/^\d+-\d\d-\d\d-\d{4}-00-manifest-incremental\.json$/);
    const m = checkManifest(dir, manifest);
    const checked = verifyChecksums(dir);
    for (const f of m.files) expect(checked).toContain(`${f.name}: OK`);
    // Other windows since the start date may still be uploading (several deliveries run at once):
    // once they are done, no temporary file is left.
    await expect.poll(() => filesIn(dir).filter((f) => f.startsWith('.')), { timeout: 60_000 }).toEqual([]);

    await expect.poll(() => subjects(CONTACT), { timeout: 30_000 }).toContain(`DDE SFTP connection active: ${NAME}`);

    await page.getByRole('link', { name: 'View connection' }).click();
    await page.getByRole('tab', { name: 'Event History' }).click();
    const delivered = runRows(page, 'Delivered');
    await expect(delivered.first()).toBeVisible({ timeout: 30_000 });
    await expect(delivered.first()).toContainText('127.0.0.1');
    await expect(delivered.first()).toContainText('Automated');
    await shoot(page, testInfo, 'sshd-event-history');
  });

  test('stop, edit while stopped, start', async ({ page }, testInfo) => {
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    const status = page.getByTestId('connection-status');
    await expect(status).toHaveText('Active');
    await expect(page.getByTestId('immutable-note')).toHaveText(
      'The password or private key and the OpenPGP key can be replaced while the connection is stopped. To change the rest, delete this connection and create a new one.',
    );
    await expect(page.getByRole('button', { name: 'Edit' })).toHaveCount(0);
    await shoot(page, testInfo, 'connection-detail-active');

    await page.getByRole('button', { name: 'Stop' }).click();
    await confirmIn(page, 'Stop');
    await expect(status).toHaveText('Stopped');
    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: 'Edit connection' });
    await form.getByLabel('Frequency').selectOption('weekly');
    await form.getByLabel('Contact emails').fill(`${CONTACT}, ops@example.com`);
    await shoot(page, testInfo, 'connection-edit');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(form).toBeHidden();
    await expect(page.getByText('ops@example.com')).toBeVisible();
    await expect(page.getByText(/SFTP · .* · Weekly/)).toBeVisible();

    await page.getByRole('button', { name: 'Start' }).click();
    await confirmIn(page, 'Start');
    await expect(status).toHaveText('Active');

    // The Activity Log's action filter finds each of these changes by the option a person picks.
    await page.goto(ACTIVITY_PATH);
    for (const [option, entry] of [
      ['Stopped', 'Connection stopped'],
      ['Edited', 'Connection edited'],
      ['Started', 'Connection started'],
    ]) {
      await page.getByLabel('Action').selectOption({ label: option });
      const entries = page.getByTestId('activity-entry').filter({ hasText: NAME });
      await expect(entries.first()).toContainText(entry);
      await expect(page.getByTestId('activity-entry').filter({ hasNotText: entry })).toHaveCount(0);
    }
  });

  test('a delivery fails because the folder went missing; after fixing the server, Retry delivers it', async ({ page }, testInfo) => {
    test.setTimeout(150_000);
    const moved = `${dir}-moved`;
    renameSync(dir, moved);
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);

    // A historical month makes a new delivery now; it fails on the missing folder (not retried by itself).
    await page.getByRole('tab', { name: 'Historical Data' }).click();
    await page.getByLabel('From').fill(day(-6));
    await page.getByRole('textbox', { name: /^To/ }).fill(day(-5));
    await page.getByRole('button', { name: 'Submit request' }).click();
    const request = page.getByTestId('historical-request').first();
    await expect(request.getByTestId('status-badge')).toHaveText('Failed', { timeout: 90_000 });
    await expect(request).toContainText('failed; see the event history');
    await expect
      .poll(() => subjects(CONTACT), { timeout: 30_000 })
      .toContainEqual(expect.stringMatching(/^DDE delivery failed .*: E2E OpenSSH warehouse/));

    await page.getByRole('tab', { name: 'Event History' }).click();
    const failed = runRows(page, 'Failed').filter({ hasText: 'Historical' });
    await expect(failed).toHaveCount(1, { timeout: 20_000 });
    await failed.getByRole('button', { name: /^Details/ }).click();
    const drawer = page.getByRole('dialog', { name: 'Run details' });
    await expect(drawer).toContainText(/folder/i);
    await page.screenshot({ path: testInfo.outputPath('failed-run-drawer-1280.png') });
    await drawer.getByRole('button', { name: 'Close' }).click();
    await shoot(page, testInfo, 'event-history-failed');

    // The admin fixes the server, then retries.
    renameSync(moved, dir);
    await failed.getByRole('button', { name: 'Retry', exact: true }).click();
    await expect(runRows(page, 'Delivered').filter({ hasText: 'Historical' })).toHaveCount(1, { timeout: 60_000 });
    await expect(runRows(page, 'Failed')).toHaveCount(0);
    await expect.poll(() => filesIn(dir).filter((f) => f.endsWith('-manifest-historical.json')), { timeout: 30_000 }).toHaveLength(1);
    checkManifest(
      dir,
      filesIn(dir).find((f) => f.endsWith('-manifest-historical.json'))!,
    );
    verifyChecksums(dir);

    await page.getByRole('tab', { name: 'Historical Data' }).click();
    await expect(request.getByTestId('status-badge')).toHaveText('Completed', { timeout: 20_000 });
    await expect(request.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
    await shoot(page, testInfo, 'historical-completed-after-retry');
  });

  test('delete with the name typed; the connection leaves the list and its history stays in the Activity Log', async ({
    page,
  }, testInfo) => {
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    await page.getByRole('button', { name: 'Delete' }).click();
    const del = page.getByRole('dialog');
    const confirm = del.getByRole('button', { name: 'Delete connection' });
    await expect(confirm).toBeDisabled();
    await del.getByRole('textbox').fill('not the name');
    await expect(confirm).toBeDisabled();
    await del.getByRole('textbox').fill(NAME);
    await shoot(page, testInfo, 'delete-dialog');
    await confirm.click();
    await expect(page).toHaveURL(new RegExp(`${CONNECTIONS_PATH}$`));
    await expect(page.getByRole('link', { name: NAME, exact: true })).toHaveCount(0);

    await page.goto(ACTIVITY_PATH);
    const entries = page.getByTestId('activity-entry').filter({ hasText: NAME });
    await expect(entries.filter({ hasText: 'Deleted' }).first()).toBeVisible();
    await expect(entries.filter({ hasText: 'Delivery retried' }).first()).toBeVisible();
    await expect(entries.filter({ hasText: 'Historical request created' }).first()).toBeVisible();
    await shoot(page, testInfo, 'activity-log-after-delete');
  });
});

test.describe.serial('a server that stalls uploads', () => {
  const NAME = 'E2E stalling server';
  const CONTACT = 'stall-contact@example.com';
  let sink: SftpSink;
  let dir: string;

  test.beforeAll(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'dde-e2e-stall-'));
    dir = path.join(root, 'incoming');
    mkdirSync(dir);
    // The set-up test's probe is tiny and passes; every data file stops after its first 4 KiB.
    sink = await startSftpSink({
      rootDir: root,
      username: 'stall-e2e',
      password: 'stall e2e password',
      faults: { stallWritesAfterBytes: 4096 },
    });
  });
  test.afterAll(async () => {
    await sink?.close();
    if (sink) rmSync(sink.rootDir, { recursive: true, force: true });
  });

  test('pause immediately during an upload leaves nothing under a final name; resume delivers', async ({ page }, testInfo) => {
    test.setTimeout(150_000);
    await signIn(page, FIRSTUP);
    await setUpSftp(page, NAME, CONTACT, {
      host: sink.host,
      port: sink.port,
      username: sink.username,
      folder: 'incoming',
      auth: { password: 'stall e2e password' },
      fingerprint: sink.hostKeyFingerprint,
    });
    await page.getByRole('link', { name: 'View connection' }).click();
    await page.getByRole('tab', { name: 'Event History' }).click();
    await expect(runRows(page, 'Delivering').first()).toBeVisible({ timeout: 60_000 });
    await expect.poll(() => filesIn(dir).some((f) => f.startsWith('.')), { message: 'an upload under a temporary name' }).toBe(true);
    await shoot(page, testInfo, 'event-history-delivering');

    await page.getByRole('button', { name: 'Pause' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByText('After Transfer')).toBeVisible();
    await dialog.getByRole('radio', { name: /Immediately/ }).check();
    await shoot(page, testInfo, 'pause-dialog');
    await confirmIn(page, 'Pause');
    const status = page.getByTestId('connection-status');
    await expect(status).toHaveText('Paused', { timeout: 20_000 });
    await expect(runRows(page, 'Delivering')).toHaveCount(0, { timeout: 20_000 });
    // The aborted upload is removed and never appears under its final name; without a manifest (and
    // sidecars, which follow every data file) a consumer does not treat the run as delivered.
    await expect
      .poll(() => filesIn(dir).filter((f) => f.startsWith('.') || f.includes('-manifest-') || f.endsWith('.sha256')), { timeout: 20_000 })
      .toEqual([]);
    await shoot(page, testInfo, 'paused-during-upload');

    sink.faults.stallWritesAfterBytes = undefined;
    await page.getByRole('button', { name: 'Resume' }).click();
    await confirmIn(page, 'Resume');
    await expect(status).toHaveText('Active');
    const manifests = await waitForManifests(dir, 1, 60_000);
    checkManifest(dir, manifests[0]);
    verifyChecksums(dir);
    await expect(runRows(page, 'Delivered').first()).toBeVisible({ timeout: 30_000 });
    await expect(runRows(page, 'Delivering')).toHaveCount(0, { timeout: 30_000 });
  });

  test('a historical request cancelled while its first month is uploading stops, leaving no partial file and no manifest', async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    sink.faults.stallWritesAfterBytes = 4096;
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    await page.getByRole('tab', { name: 'Historical Data' }).click();
    // More than 24 months back is refused in the form.
    await page.getByLabel('From').fill(day(-800));
    await page.getByRole('button', { name: 'Submit request' }).click();
    await expect(page.getByText(/is more than 24 months back: historical data reaches back to/).first()).toBeVisible();
    await page.getByLabel('From').fill(day(-50));
    await page.getByRole('textbox', { name: /^To/ }).fill(day(-10));
    await page.getByRole('button', { name: 'Submit request' }).click();
    const request = page.getByTestId('historical-request').first();
    await expect(request.getByTestId('status-badge')).toHaveText('Running', { timeout: 30_000 });
    await expect(request.getByRole('progressbar')).toBeVisible();
    await expect(request).toContainText(/0 of [23] months/);
    await expect
      .poll(() => filesIn(dir).some((f) => f.startsWith('.') && f.includes('historical')), {
        timeout: 60_000,
        message: 'a historical upload in progress',
      })
      .toBe(true);
    await shoot(page, testInfo, 'historical-running');
    await request.getByRole('button', { name: 'Cancel' }).click();
    await confirmIn(page, 'Cancel request');
    await expect(request.getByTestId('status-badge')).toHaveText('Cancelled', { timeout: 20_000 });
    await expect(request.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
    await expect
      .poll(() => filesIn(dir).filter((f) => f.includes('historical') && (f.startsWith('.') || f.includes('-manifest-'))), {
        timeout: 20_000,
      })
      .toEqual([]);
    await shoot(page, testInfo, 'historical-cancelled');
  });
});
