// The server refuses what a role may not do, whatever the UI shows: a Brand Super Admin calling a
// write route directly gets 403 and nothing changes; a Firstup Super Admin's same call succeeds.
import { expect, test, type Page } from '@playwright/test';
import { rowCounts } from './db';
import { ACTIVITY_PATH, BRAND, CONNECTIONS_PATH, e2ePrograms, FIRSTUP, signIn } from './fixtures';

/** The Origin a browser sends with the page's own fetch. */
const sameOrigin = (page: Page) => ({ origin: new URL(page.url()).origin });

const today = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
// The program is named by ?program= (connectionsUrl); the body is the connection.
const connectionsUrl = (programId: number) => `/api/v1/connections?program=${programId}`;
const connection = (name: string) => ({
  kind: 'api',
  name,
  frequency: 'daily',
  start_date: today,
  contact_emails: ['data-team@example.com'],
});

test('a Brand Super Admin calling POST /api/v1/connections directly gets 403 and nothing changes', async ({ page }) => {
  const { brand } = e2ePrograms();
  await signIn(page, BRAND);
  const before = await rowCounts();
  // As the page's own script would send it: same origin (a write without Origin is refused as cross-site).
  const res = await page.request.post(connectionsUrl(brand.id), { data: connection('Sneaky connection'), headers: sameOrigin(page) });
  expect(res.status()).toBe(403);
  const body = (await res.json()) as { error: { code: string; message: string }; request_id: string };
  expect(body.error.code).toBe('forbidden');
  expect(body.error.message).toContain('read-only');
  expect(body.request_id).toBe(res.headers()['x-request-id']);
  expect(await rowCounts()).toEqual(before);
  await page.reload();
  await expect(page.getByText('Sneaky connection')).toHaveCount(0);
});

test('without a session the same call gets 401', async ({ request }) => {
  const { brand } = e2ePrograms();
  const before = await rowCounts();
  const res = await request.post(connectionsUrl(brand.id), { data: connection('Anonymous connection') });
  expect(res.status()).toBe(401);
  expect(await rowCounts()).toEqual(before);
});

test('a Firstup Super Admin creates a connection through the same route; it shows in the list and the Activity Log', async ({
  page,
}, testInfo) => {
  const { all } = e2ePrograms();
  await signIn(page, FIRSTUP);
  const before = await rowCounts();
  const res = await page.request.post(connectionsUrl(all[0].id), {
    data: connection('Warehouse nightly export'),
    headers: sameOrigin(page),
  });
  expect(res.status()).toBe(201);
  expect(await rowCounts()).toEqual({ connections: before.connections + 1, audit: before.audit + 1 });

  await page.goto(CONNECTIONS_PATH);
  await expect(page.getByRole('cell', { name: /Warehouse nightly export/ })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('connections-list-1280.png'), fullPage: true });
  await page.goto(ACTIVITY_PATH);
  await expect(page.getByText('Connection created').first()).toBeVisible();
  await expect(page.getByText(FIRSTUP.email).first()).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('activity-log-entries-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: testInfo.outputPath('activity-log-entries-390.png'), fullPage: true });
});
