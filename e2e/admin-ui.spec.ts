// The Admin UI against the real stack: a Firstup Super Admin sets up SFTP through the form against the
// demo SFTP server, pauses, resumes, stops, edits and starts it; the demo connection's event history,
// folders (zip checked by unzipping) and a historical request with its progress, cancelled; the API set-up, API
// access and Activity Log pages; and a Brand Super Admin who sees no write control anywhere.
// Screenshots of every page at 1280 and 390 px go to the test output.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { e2eDataDir } from './db';
import { ACTIVITY_PATH, BRAND, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';

const DEMO_SFTP = 'Acme warehouse (demo SFTP)';

/** The page at 1280 and 390 px wide, the viewport as tall as the page (the shell is fixed, so fullPage would repeat it). */
async function shoot(page: Page, testInfo: TestInfo, name: string) {
  for (const [width, min] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height: min });
    const height = await page.evaluate(() => Math.max(document.documentElement.scrollHeight, ...Array.from(document.querySelectorAll('main, [data-scroll]')).map((e) => e.scrollHeight)));
    await page.setViewportSize({ width, height: Math.min(Math.max(min, height), 6000) });
    await page.screenshot({ path: testInfo.outputPath(`${name}-${width}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

function demoSftp(): { port: number; username: string; password: string } {
  return JSON.parse(readFileSync(path.join(e2eDataDir(), 'demo-sftp', 'config.json'), 'utf8')) as { port: number; username: string; password: string };
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function openConnection(page: Page, name: string) {
  await page.goto(CONNECTIONS_PATH);
  await page.getByRole('link', { name, exact: true }).first().click();
  await expect(page.getByTestId('connection-name')).toHaveText(name);
}

async function confirmIn(page: Page, button: string) {
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: button, exact: true }).click();
  await expect(dialog).toBeHidden();
}



test('a Firstup Super Admin sets up SFTP through the form and runs it: pause immediately, resume, stop, edit, start', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const sftp = demoSftp();
  const folder = 'e2e-ui-exports';
  mkdirSync(path.join(e2eDataDir(), 'demo-sftp', 'files', folder), { recursive: true });

  await signIn(page, FIRSTUP);
  await expect(page.getByRole('link', { name: 'Set Up API' })).toBeVisible();
  await shoot(page, testInfo, 'connections-list-firstup');
  await page.getByRole('link', { name: 'Set Up SFTP' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Set Up SFTP' })).toBeVisible();
  await expect(page.getByTestId('egress-info')).toBeVisible();
  await expect(page.getByLabel('Port')).toHaveValue('22');

  // Field-level validation before anything is sent.
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('Enter the server host.')).toBeVisible();
  await expect(page.getByText('Enter at least one contact email.')).toBeVisible();
  await shoot(page, testInfo, 'sftp-setup-validation');

  await page.getByLabel('Connection name').fill('E2E warehouse');
  await page.getByLabel('Start date').fill(day(0));
  await page.getByLabel('Frequency').selectOption('every_4_hours');
  await page.getByLabel('Contact emails').fill('e2e-data@example.com');
  await page.getByLabel('Server host').fill('127.0.0.1');
  await page.getByLabel('Port').fill(String(sftp.port));
  await page.getByLabel('Destination folder').fill(folder);
  await page.getByLabel('Username').fill(sftp.username);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(sftp.password);

  // Saving without a tested, confirmed host key is refused in the form.
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('Test the connection first')).toBeVisible();

  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('test-steps').locator('li')).not.toHaveCount(0);
  await expect(page.getByTestId('host-key-fingerprint')).toHaveText(/SHA256:/);
  await page.getByLabel('I confirm this is my server’s key').check();
  await shoot(page, testInfo, 'sftp-setup-tested');
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('SFTP Connection Active')).toBeVisible({ timeout: 30_000 });
  await shoot(page, testInfo, 'sftp-setup-active');

  await page.getByRole('link', { name: 'View connection' }).click();
  await expect(page.getByTestId('connection-name')).toHaveText('E2E warehouse');
  const status = page.getByTestId('connection-status');
  await expect(status).toHaveText('Active');
  await expect(page.getByTestId('immutable-note')).toHaveText('To change these, delete this connection and create a new one.');
  await expect(page.getByRole('button', { name: 'Edit' })).toHaveCount(0);
  await shoot(page, testInfo, 'connection-detail-active');

  // Pause immediately: the dialog explains both modes.
  await page.getByRole('button', { name: 'Pause' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('After Transfer')).toBeVisible();
  await dialog.getByRole('radio', { name: /Immediately/ }).check();
  await shoot(page, testInfo, 'pause-dialog');
  await confirmIn(page, 'Pause');
  await expect(status).toHaveText(/Paused/, { timeout: 20_000 });

  await page.getByRole('button', { name: 'Resume' }).click();
  await confirmIn(page, 'Resume');
  await expect(status).toHaveText('Active');

  await page.getByRole('button', { name: 'Stop' }).click();
  await confirmIn(page, 'Stop');
  await expect(status).toHaveText('Stopped');

  // Edit only while stopped.
  await page.getByRole('button', { name: 'Edit' }).click();
  const form = page.getByRole('form', { name: 'Edit connection' });
  await form.getByLabel('Frequency').selectOption('daily');
  await form.getByLabel('Contact emails').fill('e2e-data@example.com, ops@example.com');
  await shoot(page, testInfo, 'connection-edit');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form).toBeHidden();
  await expect(page.getByText('ops@example.com')).toBeVisible();
  await expect(page.getByText(/SFTP · .* · Daily/)).toBeVisible();

  await page.getByRole('button', { name: 'Start' }).click();
  await confirmIn(page, 'Start');
  await expect(status).toHaveText('Active');

  // Delete needs the name (or "delete") typed.
  await page.getByRole('button', { name: 'Delete' }).click();
  const del = page.getByRole('dialog');
  await expect(del.getByRole('button', { name: 'Delete connection' })).toBeDisabled();
  await shoot(page, testInfo, 'delete-dialog');
  await del.getByRole('button', { name: 'Cancel' }).click();
});

test('the demo connection: event history with deliveries, folders as a zip, a historical request with progress, cancelled', async ({ page }, testInfo) => {
  test.setTimeout(150_000);
  await signIn(page, FIRSTUP);
  await openConnection(page, DEMO_SFTP);
  await page.getByRole('tab', { name: 'Event History' }).click();
  const delivered = page.getByTestId('run-row').filter({ has: page.getByTestId('status-badge').getByText('Delivered') });
  await expect(delivered.first()).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('run-row').first()).toContainText(/Automated|Historical/);
  await expect(page.getByTestId('stats-chart')).toBeVisible({ timeout: 20_000 });
  await shoot(page, testInfo, 'event-history');
  await delivered.first().getByRole('button', { name: /^Details/ }).click();
  const drawer = page.getByRole('dialog', { name: 'Run details' });
  await expect(drawer.getByText('Delivery attempts')).toBeVisible();
  await expect(drawer.getByText(/Attempt 1/)).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('run-drawer-1280.png') });
  await drawer.getByRole('button', { name: 'Close' }).click();

  await page.getByRole('tab', { name: 'Folders' }).click();
  const folder = page.getByTestId('folder').first();
  await expect(folder).toBeVisible({ timeout: 20_000 });
  await expect(folder.getByTestId('expiry')).toHaveText(/Expires in/);
  await expect(folder.getByTestId('checksum').first()).toHaveText(/SHA-256 [0-9a-f]{64}/);
  await shoot(page, testInfo, 'folders');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-zip').first().click()]);
  const zip = testInfo.outputPath('folder.zip');
  await download.saveAs(zip);
  const listing = execFileSync('unzip', ['-l', zip], { encoding: 'utf8' });
  expect(listing).toMatch(/\.sha256/);
  expect(listing).toMatch(/manifest/i);

  await page.getByRole('tab', { name: 'Historical Data' }).click();
  // More than 24 months back is refused in the form.
  await page.getByLabel('From').fill(day(-800));
  await page.getByRole('button', { name: 'Submit request' }).click();
  await expect(page.getByText(/goes back at most 24 months/)).toBeVisible();
  await page.getByLabel('From').fill(day(-40));
  await page.getByRole('textbox', { name: /^To/ }).fill(day(-10));
  await page.getByRole('button', { name: 'Submit request' }).click();
  const request = page.getByTestId('historical-request').first();
  await expect(request).toBeVisible();
  await expect(request.getByRole('progressbar')).toBeVisible();
  await expect(request).toContainText(/\d+ of \d+ months?/);
  await shoot(page, testInfo, 'historical-running');
  await request.getByRole('button', { name: 'Cancel' }).click();
  await expect(request.getByTestId('status-badge')).toHaveText('Cancelled', { timeout: 20_000 });
  await expect(request.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  await shoot(page, testInfo, 'historical-cancelled');
});

test('Set Up API, API access and the Activity Log', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await signIn(page, FIRSTUP);
  await page.getByRole('link', { name: 'Set Up API' }).click();
  await expect(page.getByText('/api/oauth/token').first()).toBeVisible();
  await expect(page.getByText(/data_exports\/activities\/latest/).first()).toBeVisible();
  await page.getByLabel('Connection name').fill('E2E API pipeline');
  await page.getByLabel('Contact emails').fill('not-an-email');
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('“not-an-email” is not a valid email address.')).toBeVisible();
  await shoot(page, testInfo, 'api-setup');
  await page.getByLabel('Contact emails').fill('api@example.com');
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('API Connection Active')).toBeVisible();
  await shoot(page, testInfo, 'api-setup-active');

  await page.goto(`${CONNECTIONS_PATH}/api-access`);
  await page.getByLabel('Client name').fill('E2E loader');
  await page.getByRole('button', { name: 'Create client' }).click();
  await expect(page.getByTestId('secret-once')).toBeVisible();
  await expect(page.getByTestId('secret-value')).not.toBeEmpty();
  await expect(page.getByTestId('secret-once').getByRole('button', { name: 'Copy' })).toBeVisible();
  await shoot(page, testInfo, 'api-access-secret');
  await page.getByTestId('secret-once').getByRole('button', { name: 'Done' }).click();
  await expect(page.getByTestId('secret-once')).toHaveCount(0);
  await page.getByRole('button', { name: 'Revoke' }).first().click();
  await confirmIn(page, 'Revoke');
  await expect(page.getByText('Revoked').first()).toBeVisible();

  await page.goto(ACTIVITY_PATH);
  await expect(page.getByTestId('activity-entry').filter({ hasText: 'Connection created' }).filter({ hasText: 'E2E API pipeline' })).toBeVisible();
  await expect(page.getByTestId('activity-entry').filter({ hasText: 'API client revoked' })).toBeVisible();
  await shoot(page, testInfo, 'activity-log');
  await page.getByLabel('Show').selectOption('delivery_errors');
  await expect(page.getByTestId('activity-entry').or(page.getByText('No delivery errors'))).toBeVisible();
  await shoot(page, testInfo, 'activity-log-delivery-errors');
});

test('a Brand Super Admin sees no write control anywhere', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await signIn(page, BRAND);
  const writeButtons = ['Set Up SFTP', 'Set Up API', 'API access', 'Pause', 'Resume', 'Stop', 'Start', 'Edit', 'Delete', 'Retry', 'Submit request', 'Cancel'];
  const noWriteControls = async () => {
    for (const name of writeButtons) {
      await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
      await expect(page.getByRole('link', { name, exact: true })).toHaveCount(0);
    }
  };
  await expect(page.getByTestId('connection-row').first()).toBeVisible();
  await noWriteControls();
  await shoot(page, testInfo, 'brand-connections');

  await openConnection(page, DEMO_SFTP);
  await expect(page.getByTestId('connection-status')).toBeVisible();
  await noWriteControls();
  await shoot(page, testInfo, 'brand-detail');
  await page.getByRole('tab', { name: 'Event History' }).click();
  await expect(page.getByTestId('run-row').first()).toBeVisible({ timeout: 30_000 });
  await noWriteControls();
  await page.getByRole('tab', { name: 'Folders' }).click();
  await expect(page.getByTestId('folder').first()).toBeVisible();
  await noWriteControls();
  await page.getByRole('tab', { name: 'Historical Data' }).click();
  await expect(page.getByRole('heading', { name: 'Requests' })).toBeVisible();
  await expect(page.getByLabel('From')).toHaveCount(0);
  await noWriteControls();
  await shoot(page, testInfo, 'brand-historical');

  for (const p of ['/new/sftp', '/new/api', '/api-access']) {
    await page.goto(`${CONNECTIONS_PATH}${p}`);
    await expect(page.getByText('Your role can view, not change')).toBeVisible();
    await expect(page.getByRole('button', { name: /Save|Create|Test connection/ })).toHaveCount(0);
  }
  await page.goto(ACTIVITY_PATH);
  await expect(page.getByRole('heading', { level: 1, name: 'Activity Log' })).toBeVisible();
  await noWriteControls();
  await shoot(page, testInfo, 'brand-activity-log');
});
