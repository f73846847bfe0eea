// A PostgreSQL destination set up through Set Up Database and loaded for real, into a database of
// its own on the machine's PostgreSQL (127.0.0.1:5432, trust; not the product's embedded one):
// a malformed field is refused naming it, a failing set-up test shows its steps with the fix and
// saves nothing, the connection is created, its windows load, and the connection page's Loaded
// tables panel shows what the customer's `_dde_loads` says; Event History tells rows per table.
// A Brand Super Admin sees the same page read-only.
import { randomBytes } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import postgres from 'postgres';
import { BRAND, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { rowCounts } from './db';
import { day, shoot } from './ui';

const SERVER = process.env.E2E_CUSTOMER_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NAME = 'E2E Postgres warehouse';
const database = `e2e_dde_${randomBytes(4).toString('hex')}`;
const admin = () => postgres(SERVER, { max: 1, onnotice: () => undefined });
const customer = () => {
  const u = new URL(SERVER);
  u.pathname = `/${database}`;
  return postgres(u.toString(), { max: 1, onnotice: () => undefined });
};

test.describe.serial('a PostgreSQL destination', () => {
  let url: string;

  test.beforeAll(async () => {
    const sql = admin();
    try {
      await sql.unsafe(`create database ${database}`);
    } finally {
      await sql.end();
    }
    const c = customer();
    try {
      await c.unsafe('create schema dde');
    } finally {
      await c.end();
    }
  });
  test.afterAll(async () => {
    const sql = admin();
    try {
      await sql.unsafe(`drop database if exists ${database} with (force)`);
    } finally {
      await sql.end();
    }
  });

  /** Fills fields by their exact label (an optional one's label ends in " (optional)"). */
  async function fill(page: Page, fields: Record<string, string>) {
    for (const [label, value] of Object.entries(fields)) await page.getByLabel(new RegExp(`^${label}( \\(optional\\))?$`)).fill(value);
  }

  test('Set Up Database: a bad field is refused naming it, a failing test shows its steps, then the connection is created', async ({
    page,
  }, testInfo) => {
    const host = new URL(SERVER);
    await signIn(page, FIRSTUP);
    await page.getByRole('link', { name: 'Set Up Database' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Set Up Database' })).toBeVisible();
    await fill(page, {
      'Connection name': NAME,
      'Start date': day(-2),
      'Contact emails': 'warehouse@example.com',
      Host: host.hostname,
      Port: host.port || '5432',
      Database: 'sales warehouse',
      Schema: 'dde',
      User: 'postgres',
      Password: 'trusted',
    });
    await page.getByLabel('Frequency').selectOption('daily');
    await page.getByLabel('TLS').selectOption('disable');

    // A malformed database name: the server names the field, and nothing is saved.
    const before = await rowCounts();
    await page.getByRole('button', { name: 'Save connection' }).click();
    // Under the field, and in the notice naming it.
    await expect(page.getByTestId('field-error')).toHaveText([/^Database must be a plain identifier/]);
    await expect(page.getByText(/^Database: Database must be a plain identifier/)).toBeVisible();
    expect((await rowCounts()).connections).toBe(before.connections);
    await shoot(page, testInfo, 'database-setup-refused');

    // A schema that does not exist: the set-up test stops at that step and says what to run.
    await fill(page, { Database: database, Schema: 'warehouse' });
    await page.getByRole('button', { name: 'Save connection' }).click();
    const steps = page.getByTestId('database-test-steps');
    await expect(steps).toBeVisible({ timeout: 30_000 });
    await expect(steps.locator('li')).toHaveText([
      /✓ Connect and sign in/,
      /✗ Find the schema.*schema warehouse does not exist — CREATE SCHEMA warehouse AUTHORIZATION postgres/s,
      /– Check the tables/,
      /– Check the privileges loads need/,
      /– Probe a load \(rolled back\)/,
    ]);
    expect((await rowCounts()).connections).toBe(before.connections);
    await shoot(page, testInfo, 'database-setup-test-failed');

    await fill(page, { Schema: 'dde' });
    await page.getByRole('button', { name: 'Save connection' }).click();
    await expect(page.getByText('Database Connection Active')).toBeVisible({ timeout: 30_000 });
    await expect(page.getByTestId('database-created')).toContainText(
      `postgres://${host.hostname}:${host.port || '5432'}/${database} · schema dde`,
    );
    await shoot(page, testInfo, 'database-setup-active');
    await page.getByRole('link', { name: 'View connection' }).click();
    await expect(page.getByTestId('connection-name')).toHaveText(NAME);
    url = page.url();
  });

  test('its windows load, and Loaded tables shows what _dde_loads says; Event History tells rows per table', async ({ page }, testInfo) => {
    // The two closed daily windows since the start date, each recorded for the three file types.
    const c = customer();
    let ledger: { file_type: string; rows: number; windows: number }[] = [];
    try {
      await expect
        .poll(
          async () => {
            ledger = await c<{ file_type: string; rows: number; windows: number }[]>`
              select file_type, sum(rows)::int as rows, count(*)::int as windows from dde._dde_loads group by 1 order by 1`.catch(() => []);
            return ledger.map((l) => `${l.file_type} ${l.windows}`);
          },
          { timeout: 180_000, message: 'both windows loaded into the customer’s database' },
        )
        .toEqual(['activity 2', 'campaign 2', 'user 2']);
      const [{ n: events }] = await c<{ n: number }[]>`select count(*)::int as n from dde.activity`;
      expect(events).toBe(ledger.find((l) => l.file_type === 'activity')!.rows);
    } finally {
      await c.end();
    }

    await signIn(page, FIRSTUP);
    await page.goto(url);
    const panel = page.getByTestId('loaded-tables');
    await expect(panel.getByTestId('loaded-table')).toHaveCount(3, { timeout: 30_000 });
    const rowsOf = (type: string) => ledger.find((l) => l.file_type === type)!.rows.toLocaleString('en-US');
    await expect(panel.getByTestId('loaded-table')).toHaveText([
      new RegExp(`^users${rowsOf('user')}2`),
      new RegExp(`^campaigns${rowsOf('campaign')}2`),
      new RegExp(`^activity${rowsOf('activity')}2`),
    ]);
    await shoot(page, testInfo, 'database-connection-loaded');

    await page.getByRole('tab', { name: 'Event History' }).click();
    const runs = page.getByTestId('run-row');
    await expect(runs).toHaveCount(2);
    await expect(page.getByTestId('runs-table').getByRole('columnheader', { name: 'Rows loaded' })).toBeVisible();
    await expect(page.getByTestId('rows-by-table').first()).toContainText(/activity \d/);
    await shoot(page, testInfo, 'database-event-history');
  });

  test('a Brand Super Admin sees the connection and its loaded tables read-only', async ({ page }, testInfo) => {
    await signIn(page, BRAND);
    await page.goto(CONNECTIONS_PATH);
    await page.getByRole('link', { name: NAME, exact: true }).first().click();
    await expect(page.getByTestId('connection-name')).toHaveText(NAME);
    await expect(page.getByTestId('loaded-tables').getByTestId('loaded-table')).toHaveCount(3, { timeout: 30_000 });
    await expect(page.getByTestId('connection-actions')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Replace credentials' })).toHaveCount(0);
    await shoot(page, testInfo, 'database-connection-brand');
  });
});
