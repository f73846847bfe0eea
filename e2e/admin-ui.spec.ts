// The Admin UI against the real stack, on the demo SFTP connection and the pages around it: event
// history with deliveries and the run drawer, folders (zip checked by unzipping), a historical
// request followed to completion; the API set-up, API access and Activity Log pages; and a Brand
// Super Admin who sees no write control anywhere (the API access page read-only). SFTP set-up and
// delivery against real servers is in sftp-delivery.spec.ts. Screenshots of every page at 1280 and 390 px go to the test output.
import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { ACTIVITY_PATH, BRAND, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { confirmIn, day, openConnection, shoot } from './ui';

const DEMO_SFTP = 'Acme warehouse (demo SFTP)';

test('the demo connection: event history with deliveries, folders as a zip, a historical request with progress to completion', async ({
  page,
}, testInfo) => {
  test.setTimeout(150_000);
  await signIn(page, FIRSTUP);
  await openConnection(page, DEMO_SFTP);
  await page.getByRole('tab', { name: 'Event History' }).click();
  const delivered = page.getByTestId('run-row').filter({ has: page.getByTestId('status-badge').getByText('Delivered') });
  await expect(delivered.first()).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('run-row').first()).toContainText(/Automated|Historical/);
  await expect(page.getByTestId('stats-chart')).toBeVisible({ timeout: 20_000 });
  await shoot(page, testInfo, 'event-history');
  await delivered
    .first()
    .getByRole('button', { name: /^Details/ })
    .click();
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

  // A historical request, followed to completion: its progress bar fills and it completes.
  await page.getByRole('tab', { name: 'Historical Data' }).click();
  await page.getByLabel('From').fill(day(-40));
  await page.getByRole('textbox', { name: /^To/ }).fill(day(-10));
  await page.getByRole('button', { name: 'Submit request' }).click();
  const request = page.getByTestId('historical-request').first();
  await expect(request).toBeVisible();
  await expect(request.getByRole('progressbar')).toBeVisible();
  await expect(request).toContainText(/\d+ of \d+ months?/);
  await expect(request.getByTestId('status-badge')).toHaveText('Completed', { timeout: 90_000 });
  await expect(request.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  await expect(request).toContainText(/([23]) of \1 months · [\d,]+ rows/);
  await expect(request.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  await shoot(page, testInfo, 'historical-completed');
  // Its months are in the event history, found with the export type filter.
  await page.getByRole('tab', { name: 'Event History' }).click();
  await page.getByLabel('Export type').selectOption('historical');
  const historical = page.getByTestId('run-row');
  await expect(historical.first()).toBeVisible();
  await expect(historical.filter({ hasNotText: 'Historical' })).toHaveCount(0);
  await expect(historical.filter({ has: page.getByTestId('status-badge').getByText('Delivered', { exact: true }) }).first()).toBeVisible();
  await shoot(page, testInfo, 'event-history-historical');
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
  // The program now has two API connections (the demo's and the one just made): the client reads one.
  await page.getByRole('group', { name: 'Reads the API connection(s)' }).getByRole('checkbox').first().check();
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
  await expect(
    page.getByTestId('activity-entry').filter({ hasText: 'Connection created' }).filter({ hasText: 'E2E API pipeline' }),
  ).toBeVisible();
  await expect(page.getByTestId('activity-entry').filter({ hasText: 'API client revoked' })).toBeVisible();
  await shoot(page, testInfo, 'activity-log');
  await page.getByLabel('Show').selectOption('delivery_errors');
  await expect(page.getByTestId('activity-entry').or(page.getByText('No delivery errors'))).toBeVisible();
  await shoot(page, testInfo, 'activity-log-delivery-errors');
});

test('a Brand Super Admin sees no write control anywhere but over their own personal tokens', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await signIn(page, BRAND);
  const writeButtons = [
    'Set Up SFTP',
    'Set Up API',
    'Create client',
    'Create token',
    'Revoke',
    'Pause',
    'Resume',
    'Stop',
    'Start',
    'Edit',
    'Delete',
    'Retry',
    'Submit request',
    'Cancel',
  ];
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

  // API access is readable (e2e/filters-downloads.spec.ts); setting connections up is not.
  for (const p of ['/new/sftp', '/new/api']) {
    await page.goto(`${CONNECTIONS_PATH}${p}`);
    await expect(page.getByText('Your role can view, not change')).toBeVisible();
    await expect(page.getByRole('button', { name: /Save|Create|Test connection/ })).toHaveCount(0);
  }
  // On API access the clients are read-only; personal tokens are each account's own (e2e/filters-downloads.spec.ts).
  await page.goto(`${CONNECTIONS_PATH}/api-access`);
  const clients = page.locator('section').filter({ has: page.getByRole('heading', { name: 'API clients' }) });
  await expect(clients).toBeVisible();
  for (const name of ['Create client', 'Revoke']) await expect(clients.getByRole('button', { name, exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Create token', exact: true })).toBeVisible();
  await page.goto(ACTIVITY_PATH);
  await expect(page.getByRole('heading', { level: 1, name: 'Activity Log' })).toBeVisible();
  await noWriteControls();
  await shoot(page, testInfo, 'brand-activity-log');
});
