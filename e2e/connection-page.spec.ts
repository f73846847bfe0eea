// The connection page says what happens (issue #30, items 1, 2, 6 and 9), on an API connection of the
// demo program set up through the form with its start date three days back:
// - the page opens with the connection's name as its title and a health strip: status, last
//   delivery, next delivery expected (never in the past), failures of the last 7 days, and the last
//   windows as status marks, each opening its run; Schedule comes before Reports; the demo SFTP
//   connection's daily check does not contradict itself;
// - date ranges include the To day: the list's filter, its CSV link and the API's from/to; a
//   historical request shows the exact UTC range (and what an empty To means) before it is sent, and
//   its 24 months fold their empty months into one row;
// - the charts start at the connection's start and mark the catch-up windows apart;
// - after changing every 4 hours to daily, the page says which window the new schedule starts with;
// - a Brand Super Admin sees the same title and strip, read-only.
// Screenshots at 1280 and 390 px: health-strip, historical-range, folded-empty-months.
import { expect, test, type Page } from '@playwright/test';
import { csvRecords } from '../test/helpers/csv';
import { BRAND, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { confirmIn, day, openConnection, shoot } from './ui';

const NAME = 'E2E health strip';
const DEMO_SFTP = 'Acme warehouse (demo SFTP)';
const exact = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC', hourCycle: 'h23' });
const medium = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' });
const dayText = (d: string) => medium.format(new Date(`${d}T00:00:00Z`));

async function setUpApi(page: Page) {
  await page.goto(CONNECTIONS_PATH);
  await page.getByRole('link', { name: 'Set Up API' }).click();
  await page.getByLabel('Connection name').fill(NAME);
  await page.getByLabel('Start date').fill(day(-3));
  await page.getByLabel('Frequency').selectOption('every_4_hours');
  // Where a pipeline collects the files, the contacts hear of failures only (the kind's default), and the form says so.
  await expect(page.getByTestId('report-mails')).toHaveText(
    'Each contact receives a report only when a window fails (the default where your pipeline collects the files): every 4 hours, at most 6 emails a day. For a report of every window or a daily digest, change it on the connection’s page once it is saved (Reports and auto-pause).',
  );
  await page.getByLabel('Contact emails').fill('health-strip@example.com');
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('API Connection Active')).toBeVisible();
  await page.getByRole('link', { name: 'View connection' }).click();
}

/** The connection's id and program, from the page's own CSV link. */
async function ids(page: Page): Promise<{ id: string; program: string }> {
  const id = new URL(page.url()).pathname.split('/').pop()!;
  await page.getByRole('tab', { name: 'Event History' }).click();
  const href = (await page.getByTestId('download-csv').getAttribute('href'))!;
  return { id, program: new URL(href, page.url()).searchParams.get('program')! };
}

test.describe.serial('the connection page', () => {
  test('opens with its name and a health strip whose marks open their runs; the next delivery is never in the past', async ({
    page,
  }, testInfo) => {
    test.setTimeout(240_000);
    await signIn(page, FIRSTUP);
    await setUpApi(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(NAME);
    await expect(page).toHaveTitle(new RegExp(`^${NAME} · `));

    const strip = page.getByTestId('health-strip');
    await expect(strip.getByTestId('health-status')).toContainText('Active');
    // Three days of 4-hour windows, exported at once: the strip shows the last ones as marks.
    await expect(strip.locator('[data-testid=window-mark][data-status=available]')).toHaveCount(14, { timeout: 150_000 });
    await expect(strip.getByTestId('health-last-delivery')).toContainText('Available');
    await expect(strip.getByTestId('health-failures')).toContainText('None');
    const expected = await strip.getByTestId('next-delivery').locator('[data-expected-at]').getAttribute('data-expected-at');
    const expectedMs = Date.parse(expected!);
    expect(expectedMs).toBeGreaterThanOrEqual(Date.now() - 60_000);
    expect(expectedMs).toBeLessThanOrEqual(Date.now() + 5 * 3_600_000);
    await expect(strip.getByTestId('next-delivery')).toContainText(/in \d+|any minute now/);

    // Schedule comes before the report settings.
    await expect(page.getByRole('heading', { name: 'Reports and auto-pause' })).toBeVisible();
    const headings = await page.getByRole('heading', { level: 2 }).allTextContents();
    expect(headings.indexOf('Schedule')).toBeGreaterThanOrEqual(0);
    expect(headings.indexOf('Schedule')).toBeLessThan(headings.indexOf('Reports and auto-pause'));
    await shoot(page, testInfo, 'health-strip');

    // The newest mark opens its run.
    const mark = strip.getByTestId('window-mark').last();
    const runId = new URL((await mark.getAttribute('href'))!, page.url()).searchParams.get('run');
    await mark.click();
    await expect(page).toHaveURL(new RegExp(`tab=history&run=${runId}`));
    const drawer = page.getByRole('dialog', { name: 'Run details' });
    await expect(drawer).toBeVisible();
    await expect(drawer.getByTestId('status-badge').first()).toHaveText('Available');
    const windowText = (await mark.getAttribute('aria-label'))!.split(' UTC: ')[0];
    const [from] = windowText.split(' → ');
    await expect(drawer).toContainText(from.split(', ')[0]);
    await drawer.getByRole('button', { name: 'Close' }).click();
    await expect(page).not.toHaveURL(/run=/);
  });

  test('a day picked as To is included: the filter, its CSV link and the API’s from/to', async ({ page }) => {
    test.setTimeout(120_000);
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    const { id, program } = await ids(page);
    const d = day(-2);
    await page.getByLabel('From', { exact: true }).fill(d);
    await page.getByLabel('To', { exact: true }).fill(d);
    await expect(page.getByTestId('run-row')).toHaveCount(6);
    const href = (await page.getByTestId('download-csv').getAttribute('href'))!;
    expect(new URL(href, page.url()).searchParams.get('to')).toBe(d);
    const starts = csvRecords(await (await page.request.get(href)).text()).records.map((r) => r.window_start);
    expect(starts).toHaveLength(6);
    expect(starts.every((s) => s.startsWith(d))).toBe(true);
    // The API's documented from/to: one day in both is that whole day.
    const api = await page.request.get(`/api/v1/connections/${id}/runs?program=${program}&from=${d}&to=${d}&limit=50`);
    const body = (await api.json()) as { data: { window_start: string }[] };
    expect(body.data.map((r) => r.window_start.slice(0, 13)).sort()).toEqual(['00', '04', '08', '12', '16', '20'].map((h) => `${d}T${h}`));
  });

  test('the charts start at the connection’s start and mark the catch-up windows apart', async ({ page }) => {
    test.setTimeout(60_000);
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    await page.getByRole('tab', { name: 'Event History' }).click();
    await expect(page.getByTestId('stats-chart')).toBeVisible({ timeout: 20_000 });
    await expect(page.getByTestId('chart-since')).toContainText(`Since the connection’s start on ${dayText(day(-3))}`);
    const xs = await page
      .getByTestId('chart-rows')
      .locator('rect[data-status]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('x'))));
    // Three days fill the chart, not its last tenth.
    expect(Math.min(...xs)).toBeLessThan(600 * 0.1);
    const lag = page.getByTestId('chart-delivery-lag');
    await expect(lag.locator('rect[data-catch-up=true]').first()).toBeVisible();
    await expect(lag.locator('rect[data-catch-up=true]').first()).toHaveAttribute(
      'aria-label',
      /Catch-up: .* \(exported late, not the live lag\)/,
    );
    await expect(page.getByTestId('chart-legend')).toContainText('Catch-up (lag not live)');
    await expect(lag.locator('figcaption')).toContainText(/catch-up/);
  });

  test('a historical request shows its exact UTC range before it is sent, and folds its empty months into one row', async ({
    page,
  }, testInfo) => {
    test.setTimeout(360_000);
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    await page.getByRole('tab', { name: 'Historical Data' }).click();
    const preview = page.getByTestId('historical-range');
    await page.getByLabel('From', { exact: true }).fill(day(-40));
    await page.getByRole('textbox', { name: /^To/ }).fill(day(-10));
    await expect(preview).toHaveText(
      `Exports ${exact.format(new Date(`${day(-40)}T00:00:00Z`))} UTC through ${exact.format(new Date(`${day(-10)}T23:59:59Z`))} UTC (${
        new Date(`${day(-40)}T00:00:00Z`).getUTCMonth() === new Date(`${day(-10)}T00:00:00Z`).getUTCMonth() ? 1 : 2
      } monthly chunks).`.replace('(1 monthly chunks)', '(1 monthly chunk)'),
    );
    await shoot(page, testInfo, 'historical-range');
    // An empty To says where it ends, before anything is sent: the day before the connection's start.
    await page.getByRole('textbox', { name: /^To/ }).fill('');
    await expect(page.getByText(`Empty: through ${dayText(day(-4))}, the day before the connection’s start`)).toBeVisible();
    await expect(preview).toContainText(`To is empty: up to the connection’s start date (${dayText(day(-3))}).`);
    await expect(preview).toContainText(`through ${exact.format(new Date(`${day(-4)}T23:59:59Z`))} UTC`);

    // 24 months back, up to the connection's start: most of them have no data.
    const earliest = (await page.getByLabel('From', { exact: true }).getAttribute('min'))!;
    await page.getByLabel('From', { exact: true }).fill(earliest);
    await expect(preview).toContainText(/\((2[45]) monthly chunks\)/);
    await page.getByRole('button', { name: 'Submit request' }).click();
    const request = page.getByTestId('historical-request').first();
    await expect(request).toContainText(`${dayText(earliest)} – ${dayText(day(-4))}`);
    await expect(request.getByTestId('status-badge')).toHaveText('Completed', { timeout: 300_000 });

    await page.getByRole('tab', { name: 'Event History' }).click();
    await page.getByLabel('Export type').selectOption('historical');
    const group = page.getByTestId('empty-group').first();
    await expect(group).toContainText(/(\d+) months with no data/);
    const folded = Number((await group.textContent())!.match(/(\d+) months with no data/)![1]);
    expect(folded).toBeGreaterThanOrEqual(15);
    // The months with data stay in view as rows of their own.
    const rows = page.getByTestId('run-row');
    expect(await rows.count()).toBeLessThanOrEqual(6);
    await expect(rows.first()).toContainText('Historical');
    await shoot(page, testInfo, 'folded-empty-months');
    const shown = await rows.count();
    await group.getByRole('button', { name: 'Show them' }).click();
    await expect(rows).toHaveCount(shown + folded);
    await group.getByRole('button', { name: 'Fold them' }).click();
    await expect(rows).toHaveCount(shown);
  });

  test('after changing every 4 hours to daily, the page says which window the new schedule starts with', async ({ page }) => {
    test.setTimeout(120_000);
    await signIn(page, FIRSTUP);
    await openConnection(page, NAME);
    const { id, program } = await ids(page);
    await page.getByRole('tab', { name: 'Overview' }).click();
    const before = (await (await page.request.get(`/api/v1/connections/${id}?program=${program}`)).json()) as {
      data: { planned_through: string };
    };
    const through = new Date(before.data.planned_through);
    await page.getByRole('button', { name: 'Stop' }).click();
    await confirmIn(page, 'Stop');
    await expect(page.getByTestId('connection-status')).toHaveText('Stopped');
    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: 'Edit connection' });
    await form.getByLabel('Frequency').selectOption('daily');
    const startText = `${exact.format(through).replace(/:00$/, '')} UTC`;
    await expect(form.getByTestId('schedule-preview')).toContainText(`Daily from the window ${startText} →`);
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(form).toBeHidden();
    await expect(page.getByTestId('schedule-change')).toContainText(`Daily from the window ${startText} →`);
    await expect(page.getByTestId('schedule-change')).toContainText('every window before it was already exported');
    await page.getByRole('button', { name: 'Start' }).click();
    await confirmIn(page, 'Start');
    await expect(page.getByTestId('connection-status')).toHaveText('Active');
    await expect(page.getByTestId('next-window')).toContainText(new RegExp(`^${startText} →`));
    const after = (await (await page.request.get(`/api/v1/connections/${id}?program=${program}`)).json()) as {
      data: { next_window: { start: string }; next_delivery: { expected_at: string } };
    };
    expect(after.data.next_window.start).toBe(through.toISOString());
    expect(Date.parse(after.data.next_delivery.expected_at)).toBeGreaterThanOrEqual(Date.now() - 60_000);
  });

  test('the demo SFTP connection’s daily check does not contradict itself', async ({ page }) => {
    await signIn(page, FIRSTUP);
    await openConnection(page, DEMO_SFTP);
    const check = page.getByTestId('daily-check');
    await expect(check).toBeVisible();
    await expect(check).not.toContainText(/not run yet, last/);
    await expect(check).toHaveText(
      /^Daily check: (not run yet \(it runs once a day\)\.( Connection last tested .* UTC\.)?|passing, connection last tested .* UTC\.|failing .*)$/,
    );
  });

  test('a Brand Super Admin sees the name, the health strip and the marks, and no write control', async ({ page }) => {
    await signIn(page, BRAND);
    await openConnection(page, NAME);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(NAME);
    const strip = page.getByTestId('health-strip');
    await expect(strip.getByTestId('window-mark').first()).toBeVisible();
    await expect(strip.getByTestId('next-delivery').locator('[data-expected-at]')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Stop' })).toHaveCount(0);
    await page.getByRole('tab', { name: 'Historical Data' }).click();
    await expect(page.getByRole('button', { name: 'Submit request' })).toHaveCount(0);
  });
});
