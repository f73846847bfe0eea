// The admin pages' filters and downloads against the real product: filters kept in the URL survive
// a reload, Back and a shared link (junk in the URL is ignored); a connection's Folders tab asks the
// server for that connection's folders only; a Brand Super Admin's API access page lists clients
// and tokens read-only; both CSV downloads, parsed, hold what the filters select; the copy buttons
// work on plain http; and cancelling a historical request asks first.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Download, type Page } from '@playwright/test';
import { csvRecords } from '../test/helpers/csv';
import { e2eDataDir, e2eSql } from './db';
import { ACTIVITY_PATH, BRAND, CONNECTIONS_PATH, e2ePrograms, FIRSTUP, signIn } from './fixtures';
import { confirmIn, day, openConnection, shoot } from './ui';

const DEMO_SFTP = 'Acme warehouse (demo SFTP)';
const DEMO_API = 'Acme pipeline (API)';

/** The Origin a browser sends with the page's own fetch (cookie-authenticated writes need it). */
const sameOrigin = (page: Page) => ({ origin: new URL(page.url()).origin });

async function query<T>(run: (sql: ReturnType<typeof e2eSql>) => Promise<T>): Promise<T> {
  const sql = e2eSql();
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

async function connectionId(name: string): Promise<string> {
  const [row] = await query((sql) => sql<{ id: string }[]>`select id from connections where name = ${name} and deleted_at is null`);
  expect(row, `connection ${name}`).toBeDefined();
  return row.id;
}

/** The demo SFTP connection's password, as the product keeps it for its demo server. */
const demoSftpPassword = () =>
  (JSON.parse(readFileSync(path.join(e2eDataDir(), 'demo-sftp', 'config.json'), 'utf8')) as { password: string }).password;

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ download: Download; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const file = await download.path();
  return { download, text: readFileSync(file, 'utf8') };
}

test('Event History and Activity Log filters live in the URL: reload, Back and a shared link keep them; junk is ignored', async ({
  page,
  context,
}, testInfo) => {
  test.setTimeout(120_000);
  await signIn(page, FIRSTUP);
  await openConnection(page, DEMO_SFTP);
  await page.getByRole('tab', { name: 'Event History' }).click();
  await expect(page).toHaveURL(/\?tab=history$/);
  const delivered = page.getByTestId('run-row').filter({ has: page.getByTestId('status-badge').getByText('Delivered', { exact: true }) });
  await expect(delivered.first()).toBeVisible({ timeout: 60_000 });

  await page.getByLabel('Status').selectOption('delivered');
  await page.getByLabel('Export type').selectOption('incremental');
  await expect(page).toHaveURL(/[?&]status=delivered/);
  await expect(page).toHaveURL(/[?&]export_type=incremental/);
  const rows = page.getByTestId('run-row');
  await expect(rows.first()).toBeVisible();
  await expect(rows.filter({ hasNot: page.getByTestId('status-badge').getByText('Delivered', { exact: true }) })).toHaveCount(0);
  const filteredUrl = page.url();

  const expectFiltered = async (p: Page) => {
    await expect(p.getByRole('tab', { name: 'Event History' })).toHaveAttribute('aria-selected', 'true');
    await expect(p.getByLabel('Status')).toHaveValue('delivered');
    await expect(p.getByLabel('Export type')).toHaveValue('incremental');
    await expect(p.getByTestId('run-row').first()).toBeVisible();
    await expect(p.getByTestId('run-row').filter({ hasNotText: 'Automated' })).toHaveCount(0);
  };
  await page.reload();
  await expectFiltered(page);
  await shoot(page, testInfo, 'event-history-filtered');

  // Away and Back: the same filtered list.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity Log' }).click();
  await expect(page).toHaveURL(new RegExp(`${ACTIVITY_PATH}$`));
  await page.goBack();
  await expect(page).toHaveURL(filteredUrl);
  await expectFiltered(page);

  // A shared link opens the same view in another tab.
  const shared = await context.newPage();
  await shared.goto(filteredUrl);
  await expectFiltered(shared);
  await shared.close();

  // Values the page does not offer are ignored, not an error.
  await page.goto(`${filteredUrl.split('?')[0]}?tab=history&status=lost&export_type=monthly&from=2026-02-31&to=tomorrow`);
  await expect(page.getByLabel('Status')).toHaveValue('');
  await expect(page.getByLabel('Export type')).toHaveValue('');
  await expect(page.getByLabel('From')).toHaveValue('');
  await expect(page.getByTestId('run-row').first()).toBeVisible();
  await expect(page.getByText(/could not be loaded|Invalid query/)).toHaveCount(0);
  // The next change writes a clean URL.
  await page.getByLabel('Status').selectOption('failed');
  await expect(page).toHaveURL(/\?tab=history&status=failed$/);

  // A tab switch starts the other tab unfiltered.
  await page.getByRole('tab', { name: 'Folders' }).click();
  await expect(page).toHaveURL(/\?tab=folders$/);

  // The Activity Log: the same promises.
  await page.goto(ACTIVITY_PATH);
  await page.getByLabel('Action').selectOption('connection.created');
  await page.getByLabel('From').fill(day(-30));
  await expect(page).toHaveURL(new RegExp(`[?&]action=connection.created`));
  await expect(page).toHaveURL(new RegExp(`[?&]from=${day(-30)}`));
  const entries = page.getByTestId('activity-entry');
  await expect(entries.filter({ hasText: DEMO_SFTP })).toBeVisible();
  await expect(entries.filter({ hasNotText: 'Connection created' })).toHaveCount(0);
  const activityUrl = page.url();
  await page.reload();
  await expect(page.getByLabel('Action')).toHaveValue('connection.created');
  await expect(page.getByLabel('From')).toHaveValue(day(-30));
  await expect(entries.filter({ hasText: DEMO_SFTP })).toBeVisible();
  await shoot(page, testInfo, 'activity-log-filtered');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Recurring Data Connections' }).click();
  await expect(page).toHaveURL(new RegExp(`${CONNECTIONS_PATH}$`));
  await page.goBack();
  await expect(page).toHaveURL(activityUrl);
  await expect(page.getByLabel('Action')).toHaveValue('connection.created');

  await page.goto(`${ACTIVITY_PATH}?kind=everything&action=drop_table&target_type=%3Cscript%3E&from=yesterday`);
  await expect(page.getByLabel('Show')).toHaveValue('all');
  await expect(page.getByLabel('Action')).toHaveValue('');
  await expect(page.getByLabel('About')).toHaveValue('');
  await expect(entries.first()).toBeVisible();
  await expect(page.getByText(/could not be loaded|Invalid query/)).toHaveCount(0);
});

test('Download CSV: the event history and the Activity Log, with the filters applied', async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  const { brand } = e2ePrograms();
  const sftp = await connectionId(DEMO_SFTP);
  await signIn(page, FIRSTUP);
  await openConnection(page, DEMO_SFTP);
  await page.getByRole('tab', { name: 'Event History' }).click();
  await expect(page.getByTestId('run-row').first()).toBeVisible({ timeout: 60_000 });
  await page.getByLabel('Status').selectOption('delivered');
  await expect(page.getByTestId('run-row').first()).toBeVisible();
  const deliveredBefore = await query(
    (sql) => sql<{ id: string }[]>`select id from export_runs where connection_id = ${sftp} and status = 'delivered'`,
  );

  const runs = await downloaded(page, () => page.getByTestId('download-csv').click());
  expect(runs.download.suggestedFilename()).toMatch(
    new RegExp(`^event-history-${brand.id}-acme-warehouse-demo-sftp-\\d{4}-\\d{2}-\\d{2}\\.csv$`),
  );
  const { header, records } = csvRecords(runs.text);
  expect(header.slice(0, 5)).toEqual(['run_id', 'window_start', 'window_end', 'type', 'status']);
  expect(records.length).toBeGreaterThanOrEqual(deliveredBefore.length);
  expect(new Set(records.map((r) => r.status))).toEqual(new Set(['Delivered']));
  const deliveredNow = new Set(
    (await query((sql) => sql<{ id: string }[]>`select id from export_runs where connection_id = ${sftp} and status = 'delivered'`)).map(
      (r) => r.id,
    ),
  );
  for (const r of records) expect(deliveredNow.has(r.run_id), r.run_id).toBe(true);
  // What the table shows first is the CSV's first row.
  const firstFile = (await page.getByTestId('run-row').first().getByRole('button').first().innerText()).split(' + ')[0];
  expect(records[0].file_names).toContain(firstFile);
  expect(records[0].destination).toContain('127.0.0.1');
  const secret = demoSftpPassword();
  expect(secret.length).toBeGreaterThan(10);
  expect(runs.text).not.toContain(secret);

  await page.goto(`${ACTIVITY_PATH}?action=connection.created`);
  await expect(page.getByTestId('activity-entry').first()).toBeVisible();
  const created = await query(
    (sql) =>
      sql<{ n: number }[]>`select count(*)::int as n from audit_log where program_id = ${brand.id} and action = 'connection.created'`,
  );
  const activity = await downloaded(page, () => page.getByTestId('download-csv').click());
  expect(activity.download.suggestedFilename()).toMatch(new RegExp(`^activity-log-${brand.id}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
  const log = csvRecords(activity.text);
  expect(log.header).toEqual([
    'at',
    'actor',
    'action',
    'target_type',
    'target_id',
    'target_name',
    'connection_id',
    'before',
    'after',
    'details',
  ]);
  expect(log.records.length).toBeGreaterThanOrEqual(created[0].n);
  expect(new Set(log.records.map((r) => r.action))).toEqual(new Set(['connection.created']));
  expect(log.records.map((r) => r.target_name)).toEqual(expect.arrayContaining([DEMO_SFTP, DEMO_API]));
  const demo = log.records.find((r) => r.target_name === DEMO_SFTP)!;
  expect(demo.connection_id).toBe(sftp);
  expect(JSON.parse(demo.after)).toMatchObject({ kind: 'sftp', name: DEMO_SFTP });
  expect(activity.text).not.toContain(secret);
  expect(activity.text).not.toMatch(/ciphertext/i);
  await shoot(page, testInfo, 'activity-log-csv');
});

test('a connection’s Folders tab lists that connection’s folders, asked of the server, with its filters in the URL', async ({
  page,
}, testInfo) => {
  test.setTimeout(120_000);
  const api = await connectionId(DEMO_API);
  await signIn(page, FIRSTUP);
  await openConnection(page, DEMO_API);
  const asked = page.waitForRequest((r) => r.url().includes('/api/v1/folders?'));
  await page.getByRole('tab', { name: 'Folders' }).click();
  const url = new URL((await asked).url());
  expect(url.searchParams.get('connection')).toBe(api);
  const folder = page.getByTestId('folder');
  await expect(folder.first()).toBeVisible({ timeout: 90_000 });

  const hrefs = await page.getByTestId('download-zip').evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).href));
  const shown = hrefs.map((h) => /\/api\/v1\/folders\/([0-9a-f-]{36})\/archive/.exec(h)![1]);
  expect(shown.length).toBe(await folder.count());
  const owners = await query(
    (sql) => sql<{ id: string; connection_id: string }[]>`select id, connection_id from export_runs where id in ${sql(shown)}`,
  );
  expect(owners).toHaveLength(shown.length);
  for (const o of owners) expect(o.connection_id, o.id).toBe(api);
  // Every available folder of the connection is there (fewer than one page of fifty).
  const available = await query(
    (sql) => sql<{ run_id: string }[]>`
      select distinct f.run_id from export_files f join export_runs r on r.id = f.run_id
      where r.connection_id = ${api} and not f.expired and f.expires_at > now()`,
  );
  expect(new Set(shown)).toEqual(new Set(available.map((r) => r.run_id)));
  await shoot(page, testInfo, 'folders-of-connection');

  await page.getByLabel('Export type').selectOption('historical');
  await page.getByLabel('Show expired folders').check();
  await expect(page).toHaveURL(/\?tab=folders&export_type=historical&expired=shown$/);
  await page.reload();
  await expect(page.getByLabel('Export type')).toHaveValue('historical');
  await expect(page.getByLabel('Show expired folders')).toBeChecked();
  await expect(page.getByTestId('folder').or(page.getByText('No folders match these filters.')).first()).toBeVisible();
  await expect(page.getByTestId('folder').filter({ hasText: 'Automated' })).toHaveCount(0);
  await page.getByLabel('Export type').selectOption('incremental');
  await expect(page.getByTestId('folder').first()).toBeVisible();
  await expect(page.getByTestId('folder').filter({ hasText: 'Historical' })).toHaveCount(0);
});

test('a Brand Super Admin reads API access: clients and tokens listed, no create or revoke, writes refused', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(90_000);
  const { brand } = e2ePrograms();
  const api = await connectionId(DEMO_API);
  await signIn(page, FIRSTUP);
  const created = await page.request.post('/api/v1/api-clients', {
    data: { program_id: brand.id, name: 'Warehouse loader', scopes: ['data_exports.read'], connection_ids: [api] },
    headers: sameOrigin(page),
  });
  expect(created.status()).toBe(201);
  const client = ((await created.json()) as { data: { id: string; client_id: string; client_secret: string } }).data;

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const bp = await context.newPage();
  await signIn(bp, BRAND);
  const token = await bp.request.post('/api/v1/tokens', {
    data: { name: 'Monthly report script', expires_in_days: 90 },
    headers: sameOrigin(bp),
  });
  expect(token.status()).toBe(201);
  const tokenValue = ((await token.json()) as { data: { token: string } }).data.token;

  await bp.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API access' }).click();
  await expect(bp.getByRole('heading', { level: 1, name: 'API access' })).toBeVisible();
  await expect(bp.getByTestId('read-only-notice')).toContainText('Your role can view API clients, not change them');
  const clients = bp.locator('section').filter({ has: bp.getByRole('heading', { name: 'API clients' }) });
  await expect(clients.getByText('Warehouse loader')).toBeVisible();
  await expect(clients.getByText(client.client_id)).toBeVisible();
  await expect(clients.getByText(`Reads ${DEMO_API}`).first()).toBeVisible();
  const tokens = bp.locator('section').filter({ has: bp.getByRole('heading', { name: 'Personal access tokens' }) });
  await expect(tokens.getByText('Monthly report script')).toBeVisible();
  for (const name of ['Create client', 'Revoke']) await expect(clients.getByRole('button', { name })).toHaveCount(0);
  await expect(bp.getByLabel('Client name')).toHaveCount(0);
  // Their own tokens are theirs to create and revoke, reading exports only: the one access offered.
  await expect(tokens.getByRole('button', { name: 'Create token' })).toBeVisible();
  await expect(tokens.getByLabel('Access', { exact: true }).locator('option')).toHaveText([
    'Read exports — List and download export files and folders.',
  ]);
  await expect(tokens.getByRole('button', { name: 'Revoke' })).toHaveCount(1);
  const broader = await bp.request.post('/api/v1/tokens', {
    data: { name: 'Wants more', scopes: ['data_exports.manage'] },
    headers: sameOrigin(bp),
  });
  expect(broader.status()).toBe(403);
  expect(((await broader.json()) as { error: { message: string } }).error.message).toContain('data_exports.manage');
  const html = await bp.content();
  expect(html).not.toContain(client.client_secret);
  expect(html).not.toContain(tokenValue);
  await shoot(bp, testInfo, 'brand-api-access');

  // The server refuses the writes whatever the page shows.
  const create = await bp.request.post('/api/v1/api-clients', {
    data: { program_id: brand.id, name: 'Sneaky', scopes: ['data_exports.read'], connection_ids: [api] },
    headers: sameOrigin(bp),
  });
  expect(create.status()).toBe(403);
  const revoke = await bp.request.delete(`/api/v1/api-clients/${client.id}?program=${brand.id}`, { headers: sameOrigin(bp) });
  expect(revoke.status()).toBe(403);
  await bp.reload();
  await expect(clients.getByText('Warehouse loader')).toBeVisible();
  await expect(clients.getByText('Sneaky')).toHaveCount(0);
  await expect(clients.getByTestId('status-badge').first()).toHaveText('Active');
  await context.close();

  // Tidy up for the specs after this one.
  const revoked = await page.request.delete(`/api/v1/api-clients/${client.id}?program=${brand.id}`, { headers: sameOrigin(page) });
  expect(revoked.status()).toBe(200);
});

test('copy buttons work on plain http: a selection copy, or the text selected with "Press Ctrl+C"', async ({ page }, testInfo) => {
  // Plain http: no secure context, so no Clipboard API. Every copy command is recorded with what it copied.
  await page.addInitScript(() => {
    Object.defineProperty(window, 'isSecureContext', { get: () => false });
    Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined });
    const w = window as unknown as { copied: string[] };
    w.copied = [];
    document.addEventListener('copy', () => {
      const el = document.activeElement;
      w.copied.push(
        el instanceof HTMLTextAreaElement ? el.value.slice(el.selectionStart, el.selectionEnd) : String(document.getSelection()),
      );
    });
  });
  await signIn(page, FIRSTUP);
  await page.goto(`${CONNECTIONS_PATH}/new/api`);
  expect(await page.evaluate(() => 'clipboard' in navigator && navigator.clipboard !== undefined)).toBe(false);
  const snippet = page.locator('pre').first();
  await expect(snippet).toContainText('/api/oauth/token');
  const text = await snippet.innerText();
  // The first snippet's button, whatever it says at the moment.
  const copy = page.getByRole('button', { name: /^(Copy|Copied)$/ }).first();
  await expect(copy).toHaveText('Copy');
  await copy.click();
  await expect(copy).toHaveText('Copied');
  expect(await page.evaluate(() => (window as unknown as { copied: string[] }).copied)).toEqual([text]);
  await expect(copy).toHaveText('Copy', { timeout: 5_000 });

  // A browser that refuses even that: the text is shown selected, with what to press.
  await page.evaluate(() => {
    document.execCommand = () => false;
  });
  await copy.click();
  const dialog = page.getByRole('dialog', { name: 'Copy this text' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('press Ctrl+C');
  const manual = dialog.getByRole('textbox', { name: 'Text to copy' });
  await expect(manual).toBeFocused();
  await expect(manual).toHaveValue(text);
  expect(await manual.evaluate((el: HTMLTextAreaElement) => [el.selectionStart, el.selectionEnd])).toEqual([0, text.length]);
  await shoot(page, testInfo, 'copy-manually');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(copy).toBeFocused();
});

test('cancelling a historical request asks first; keeping it changes nothing', async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  const { brand } = e2ePrograms();
  await signIn(page, FIRSTUP);
  const name = 'E2E cancel confirmation';
  const res = await page.request.post(`/api/v1/connections?program=${brand.id}`, {
    data: {
      kind: 'api',
      name,
      frequency: 'daily',
      start_date: `${day(0)}T00:00:00Z`,
      contact_emails: ['data-team@example.com'],
    },
    headers: sameOrigin(page),
  });
  expect(res.status()).toBe(201);
  const id = ((await res.json()) as { data: { id: string } }).data.id;
  // Stopped, so its months wait: the request stays open while the dialog is tried.
  expect(
    (await page.request.post(`/api/v1/connections/${id}/stop?program=${brand.id}`, { data: {}, headers: sameOrigin(page) })).status(),
  ).toBe(200);

  await openConnection(page, name);
  await page.getByRole('tab', { name: 'Historical Data' }).click();
  await page.getByLabel('From').fill(day(-60));
  await page.getByRole('textbox', { name: /^To/ }).fill(day(-1));
  await page.getByRole('button', { name: 'Submit request' }).click();
  const request = page.getByTestId('historical-request').first();
  await expect(request.getByTestId('status-badge')).toHaveText(/Pending|Running/);
  const status = async () =>
    (await query((sql) => sql<{ status: string }[]>`select status from historical_requests where connection_id = ${id}`))[0].status;

  await request.getByRole('button', { name: /^Cancel/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this historical request?' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('nothing of it is left half-delivered');
  await expect(dialog.getByRole('button', { name: 'Keep request' })).toBeFocused();
  await shoot(page, testInfo, 'historical-cancel-confirm');
  await dialog.getByRole('button', { name: 'Keep request' }).click();
  await expect(dialog).toBeHidden();
  await request.getByRole('button', { name: /^Cancel/ }).click();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(request.getByTestId('status-badge')).toHaveText(/Pending|Running/);
  expect(await status()).toMatch(/pending|running/);

  await request.getByRole('button', { name: /^Cancel/ }).click();
  await confirmIn(page, 'Cancel request');
  await expect(request.getByTestId('status-badge')).toHaveText('Cancelled');
  await expect(request.getByRole('button', { name: /^Cancel/ })).toHaveCount(0);
  expect(await status()).toBe('cancelled');

  // Tidy up for the specs after this one.
  expect((await page.request.delete(`/api/v1/connections/${id}?program=${brand.id}`, { headers: sameOrigin(page) })).status()).toBe(200);
});
