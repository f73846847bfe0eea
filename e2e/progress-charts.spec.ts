// Live progress and the 30-day charts on the connection page, against the real product:
// - an in-process SFTP server behind a slow network: a delivery shows the bytes uploaded of the
//   total in a progress bar that moves, with the time left; a historical request of 24 months shows
//   its progress weighted by rows and bytes with the time left (its empty months weigh little) and
//   the month being uploaded with its own bar.
// - the SFTP set-up form says how many report emails the chosen frequency makes, and where to change it.
// - an SFTP server that refuses the files: the scheduled windows fail, one is retried and
//   delivered; the charts draw the failed windows in their own colour (their lag missing, not 0),
//   the delivered one against the 1-hour target, and each window's tooltip opens on keyboard focus
//   and on tap.
// Screenshots at 1280 and 390 px: sftp-setup-report-mails, progress-bar, historical-progress, charts-failure, charts-tooltip.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { startSftpSink, type SftpSink } from '../scripts/dev/sftp-sink';
import { startSlowProxy } from '../test/helpers/delivery';
import { ACTIVITY_PATH, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { confirmIn, day, shoot } from './ui';

const PASSWORD = 'progress e2e password';

/** Set Up SFTP through the form; `beforeSave` runs once the connection test has passed. */
async function setUpSftp(
  page: Page,
  c: { name: string; startDaysAgo: number; host: string; port: number; folder: string; username: string; fingerprint: string },
  beforeSave?: () => void,
  shots?: TestInfo,
) {
  await page.goto(CONNECTIONS_PATH);
  await page.getByRole('link', { name: 'Set Up SFTP' }).click();
  await page.getByLabel('Connection name').fill(c.name);
  await page.getByLabel('Start date').fill(day(-c.startDaysAgo));
  // The contacts' reports at the chosen frequency (the default: every delivery), and where to change them.
  const mails = page.getByTestId('report-mails');
  await page.getByLabel('Frequency').selectOption('every_4_hours');
  await expect(mails).toHaveText(
    'Each contact receives a report of every delivery, successful or failed: every 4 hours, that is 6 emails a day. For fewer, choose Failures only or A daily digest on the connection’s page once it is saved (Reports and auto-pause).',
  );
  await page.getByLabel('Frequency').selectOption('daily');
  await expect(mails).toContainText(
    'every delivery, successful or failed: daily, that is one email a day. For fewer, choose Failures only or A daily digest',
  );
  await page.getByLabel('Contact emails').fill('progress-contact@example.com');
  await page.getByLabel('Server host').fill(c.host);
  await page.getByLabel('Port').fill(String(c.port));
  await page.getByLabel('Destination folder').fill(c.folder);
  await page.getByLabel('Username').fill(c.username);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByTestId('host-key-fingerprint')).toHaveText(c.fingerprint, { timeout: 30_000 });
  await page.getByLabel('I confirm this is my server’s key').check();
  await expect(page.getByText('Connection test passed')).toBeVisible({ timeout: 30_000 });
  if (shots) await shoot(page, shots, 'sftp-setup-report-mails');
  beforeSave?.();
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('SFTP Connection Active')).toBeVisible({ timeout: 30_000 });
  await page.getByRole('link', { name: 'View connection' }).click();
  await expect(page.getByTestId('connection-name')).toHaveText(c.name);
}

/**
 * From the moment the connection test that Save runs has removed its probe file, the server refuses
 * every file (permission denied: not retried). The form's own test just before passes as usual.
 */
function refuseFilesAfterSave(sink: SftpSink): () => void {
  return () => {
    const probesRemoved = () => sink.events.filter((e) => e.type === 'remove' && e.path?.includes('.dde-write-test')).length;
    const before = probesRemoved();
    const timer = setInterval(() => {
      if (probesRemoved() === before) return;
      sink.faults.readOnly = true;
      clearInterval(timer);
    }, 2);
    timer.unref();
  };
}

function runRows(page: Page, status: string) {
  return page.getByTestId('run-row').filter({ has: page.getByTestId('status-badge').getByText(status, { exact: true }) });
}

async function sinkIn(prefix: string, folder: string): Promise<SftpSink> {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  mkdirSync(path.join(root, folder));
  return startSftpSink({ rootDir: root, username: 'progress-e2e', password: PASSWORD });
}

test.describe.serial('a slow network to the SFTP server', () => {
  const NAME = 'E2E slow network';
  let sink: SftpSink;
  let proxy: Awaited<ReturnType<typeof startSlowProxy>>;

  test.beforeAll(async () => {
    sink = await sinkIn('dde-e2e-slow-', 'incoming');
    // A day's files of the demo program take half a minute or more at this speed.
    proxy = await startSlowProxy({ host: sink.host, port: sink.port }, { bytesPerSecond: 12 * 1024 });
  });
  test.afterAll(async () => {
    await proxy?.close();
    await sink?.close();
    if (sink) rmSync(sink.rootDir, { recursive: true, force: true });
  });

  test('a delivery shows the bytes uploaded of the total in a moving progress bar with the time left; a historical request its weighted progress', async ({
    page,
  }, testInfo) => {
    test.setTimeout(300_000);
    await signIn(page, FIRSTUP);
    await setUpSftp(
      page,
      {
        name: NAME,
        startDaysAgo: 2,
        host: proxy.host,
        port: proxy.port,
        folder: 'incoming',
        username: sink.username,
        fingerprint: sink.hostKeyFingerprint,
      },
      undefined,
      testInfo,
    );
    await page.getByRole('tab', { name: 'Event History' }).click();
    const delivering = runRows(page, 'Delivering').first();
    await expect(delivering).toBeVisible({ timeout: 60_000 });
    const bar = delivering.getByRole('progressbar', { name: /^Progress of/ });
    await expect(delivering.getByTestId('run-progress')).toContainText(/Uploading [\d.]+ [KM]?B of [\d.]+ [KM]?B · \d+% · (about|a few)/, {
      timeout: 30_000,
    });
    await expect(bar).toHaveAttribute('aria-valuemin', '0');
    await expect(bar).toHaveAttribute('aria-valuemax', '100');
    await expect(bar).toHaveAttribute('aria-valuetext', /uploaded, (about|a few)/);
    // Live: the bar moves while the page is open, without a reload.
    const first = Number(await bar.getAttribute('aria-valuenow'));
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 30_000 }).toBeGreaterThan(first);
    await shoot(page, testInfo, 'progress-bar');

    // A historical request of 24 months, of which only the last two or three hold data (the demo's 60
    // days): the empty months are done in seconds, the months with data are stuck behind the slow
    // network. The progress is weighted by rows and bytes, so it reads well under half, not "22 of
    // 24 months" (92 %), and says how long is left; the month being uploaded has its own bar.
    await page.getByRole('tab', { name: 'Historical Data' }).click();
    const from = page.getByLabel('From', { exact: true });
    await from.fill((await from.getAttribute('min'))!);
    await page.getByRole('textbox', { name: /^To/ }).fill(day(-20));
    await page.getByRole('button', { name: 'Submit request' }).click();
    const request = page.getByTestId('historical-request').first();
    await expect(request.getByTestId('status-badge')).toHaveText('Running', { timeout: 30_000 });
    const months = page.getByTestId('months-in-progress').first();
    await expect(months.getByRole('progressbar', { name: /^Month / }).first()).toHaveAttribute('aria-valuenow', /\d+/, { timeout: 60_000 });
    await expect(months).toContainText(/Uploading [\d.]+ [KM]?B of [\d.]+ [KM]?B/);
    // One reading of the summary: months done, the weighted share, rows, bytes and the time left.
    const summary = request.getByTestId('historical-summary');
    const reading = async () => {
      const m = (await summary.textContent())!.match(/^(\d+) of (\d+) months · (\d+)% · [\d,]+ of about [\d,]+ rows exported/);
      return m ? { left: Number(m[2]) - Number(m[1]), months: Number(m[1]) / Number(m[2]), percent: Number(m[3]) / 100 } : null;
    };
    await expect
      .poll(async () => (await reading())?.left ?? 99, { timeout: 120_000, message: 'the empty months done' })
      .toBeLessThanOrEqual(3);
    const now = (await reading())!;
    expect(now.months).toBeGreaterThan(0.8);
    expect(now.percent).toBeLessThan(0.6);
    // The time left, once the network's speed is known from the first bytes acknowledged.
    await expect(summary).toContainText(
      / · (?!0 B)[\d.]+ [KM]?B of [\d.]+ [KM]?B uploaded · (about [^·]+|a few seconds) left · requested/,
      {
        timeout: 90_000,
      },
    );
    await expect(request.getByRole('progressbar', { name: /^Progress of/ })).toHaveAttribute(
      'aria-valuetext',
      /^\d+% of the work done \(by rows and bytes\), (about .+|a few seconds) left$/,
    );
    await shoot(page, testInfo, 'historical-progress');
    await request.getByRole('button', { name: 'Cancel' }).click();
    await confirmIn(page, 'Cancel request');
    await expect(request.getByTestId('status-badge')).toHaveText('Cancelled', { timeout: 20_000 });
    await expect(page.getByTestId('months-in-progress')).toHaveCount(0);

    // Full speed again: the scheduled windows finish, and their progress gives way to the totals.
    proxy.bytesPerSecond = Infinity;
    await page.getByRole('tab', { name: 'Event History' }).click();
    await expect(runRows(page, 'Delivering')).toHaveCount(0, { timeout: 90_000 });
    await expect(runRows(page, 'Delivered').first()).toBeVisible();
    await expect(page.getByTestId('run-progress')).toHaveCount(0);
  });
});

test.describe.serial('a server that refuses the files', () => {
  const NAME = 'E2E refusing server';
  let sink: SftpSink;
  test.use({ hasTouch: true });

  test.beforeAll(async () => {
    sink = await sinkIn('dde-e2e-refusing-', 'drop');
  });
  test.afterAll(async () => {
    await sink?.close();
    if (sink) rmSync(sink.rootDir, { recursive: true, force: true });
  });

  test('the charts show failed windows in their own colour with their lag missing, the 1-hour target, and tooltips by keyboard and tap', async ({
    page,
  }, testInfo) => {
    test.setTimeout(180_000);
    await signIn(page, FIRSTUP);
    await setUpSftp(
      page,
      {
        name: NAME,
        startDaysAgo: 3,
        host: sink.host,
        port: sink.port,
        folder: 'drop',
        username: sink.username,
        fingerprint: sink.hostKeyFingerprint,
      },
      refuseFilesAfterSave(sink),
    );
    await page.getByRole('tab', { name: 'Event History' }).click();
    await expect(runRows(page, 'Failed')).toHaveCount(3, { timeout: 90_000 });

    // The admin fixes the server and retries the oldest window: it is delivered. Every word its badge
    // shows on the way is recorded: a retried run never reads "Generated" (a step back) before Delivered.
    sink.faults.readOnly = false;
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { badgeWords: string[] }).badgeWords = seen;
      const record = () => {
        for (const b of document.querySelectorAll('[data-testid=run-row] [data-testid=status-badge]')) {
          const word = b.textContent ?? '';
          if (!seen.includes(word)) seen.push(word);
        }
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await runRows(page, 'Failed').last().getByRole('button', { name: 'Retry', exact: true }).click();
    await expect(runRows(page, 'Delivered')).toHaveCount(1, { timeout: 60_000 });
    await expect(runRows(page, 'Failed')).toHaveCount(2);
    const words = await page.evaluate(() => (window as unknown as { badgeWords: string[] }).badgeWords);
    expect(words).toContain('Delivered');
    expect(words.filter((w) => !['Failed', 'Planned', 'Waiting to deliver', 'Delivering', 'Delivered'].includes(w))).toEqual([]);
    // One vocabulary: the Status filter offers the badges' words (an empty window is "No new data" everywhere).
    await expect(page.getByLabel('Status').locator('option')).toHaveText([
      'Any',
      'Delivered',
      'Available',
      'Failed',
      'No new data',
      'Delivering',
      'Waiting to deliver',
      'Exporting',
      'Planned',
      'Cancelled',
    ]);

    // The Activity Log shows the failures without being asked: its default view has changes and failed deliveries.
    await page.goto(ACTIVITY_PATH);
    await expect(page.getByLabel('Show')).toHaveValue('all');
    await expect(page.getByTestId('activity-entry').filter({ hasText: 'Delivery failed' }).filter({ hasText: NAME }).first()).toBeVisible();
    await expect(page.getByTestId('activity-entry').filter({ hasText: 'Connection created' }).filter({ hasText: NAME })).toBeVisible();
    await page.goBack();
    await page.reload();
    await page.getByRole('tab', { name: 'Event History' }).click();
    const charts = page.getByTestId('stats-chart');
    await expect(charts).toBeVisible({ timeout: 20_000 });
    const legend = page.getByTestId('chart-legend');
    await expect(legend).toContainText('Delivered');
    await expect(legend).toContainText('Failed');
    await expect(legend).toContainText('No new data');
    await expect(legend).toContainText('1 h delivery target');
    const rows = page.getByTestId('chart-rows');
    const lag = page.getByTestId('chart-delivery-lag');
    await expect(rows.locator('rect[data-status=failed]')).toHaveCount(2);
    await expect(rows.locator('rect[data-status=delivered]')).toHaveCount(1);
    await expect(lag.getByTestId('lag-target')).toHaveCount(1);
    // Bars sit on the time axis, which starts at the connection's start (three days back), not 30 days back:
    // the oldest window is at the left edge, the newest at the right.
    const xs = await rows.locator('rect[data-status]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('x'))));
    expect(Math.min(...xs)).toBeLessThan(600 * 0.1);
    expect(Math.max(...xs)).toBeGreaterThan(600 * 0.5);
    await expect(page.getByTestId('chart-since')).toContainText('Since the connection’s start on');
    // A failed window has no lag: a marker at the baseline, and its label says so.
    const failedLag = lag.locator('rect[data-status=failed]');
    await expect(failedLag.first()).toHaveAttribute('aria-label', /Failed · no lag: the files were never delivered/);
    await expect(failedLag.first()).toHaveAttribute('height', '3');

    // Keyboard: Tab from the bytes chart into the lag chart shows the newest window's tooltip; the arrow keys move along.
    const bytesStop = page.getByTestId('chart-bytes').locator('rect[tabindex="0"]');
    await bytesStop.focus();
    await page.keyboard.press('Tab');
    const tooltip = lag.getByRole('tooltip');
    await expect(tooltip).toBeVisible();
    await expect(lag.locator('rect:focus')).toHaveAttribute('aria-label', /UTC: /);
    await page.keyboard.press('Home');
    // The retried window was delivered days after it closed: a catch-up, told apart from the live lag.
    await expect(tooltip).toContainText(/Catch-up: Delivered .* after the window closed \(exported late, not the live lag\)/);
    await expect(lag.locator('rect[data-catch-up=true]')).toHaveCount(3);
    await page.keyboard.press('ArrowRight');
    await expect(tooltip).toContainText('Failed · no lag: the files were never delivered');
    await shoot(page, testInfo, 'charts-failure');

    // Touch: a tap on a bar shows its tooltip.
    await page.getByRole('heading', { name: 'Last 30 days' }).click();
    await expect(tooltip).toHaveCount(0);
    await rows.locator('rect[data-status=delivered]').tap();
    await expect(rows.getByRole('tooltip')).toContainText(/Delivered · [\d,]+ rows/);
    await page.setViewportSize({ width: 390, height: 844 });
    await rows.locator('rect[data-status=delivered]').tap();
    await expect(rows.getByRole('tooltip')).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath('charts-tooltip-390.png'), fullPage: false });
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
