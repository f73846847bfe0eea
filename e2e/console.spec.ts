// Every page, as each role and at both widths, without noise in the browser's console: no error or
// warning message, no uncaught exception, no request answered 4xx/5xx (a missing favicon, a chunk,
// an API call the page should not make), no hydration mismatch.
import { expect, test, type Page } from '@playwright/test';
import { ACTIVITY_PATH, BRAND, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';

const DEMO_SFTP = 'Acme warehouse (demo SFTP)';

type Noise = { page: string; what: string };

/** Collects what a person with the console open would see as wrong while `page` is used. */
function listen(page: Page, noise: Noise[]): void {
  const here = () => new URL(page.url()).pathname;
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') noise.push({ page: here(), what: `console.${msg.type()}: ${msg.text()}` });
  });
  page.on('pageerror', (err) => noise.push({ page: here(), what: `uncaught: ${err.message}` }));
  page.on('response', (res) => {
    if (res.status() >= 400) noise.push({ page: here(), what: `${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}` });
  });
}

/** Visits every page the role can open, and every tab of a connection, waiting for each to settle. */
async function tour(page: Page, writer: boolean): Promise<void> {
  const visit = async (path: string, heading: string | RegExp) => {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    await page.waitForLoadState('networkidle');
  };
  await visit(CONNECTIONS_PATH, 'Recurring Data Connections');
  await page.getByRole('link', { name: DEMO_SFTP, exact: true }).first().click();
  await expect(page.getByTestId('connection-name')).toHaveText(DEMO_SFTP);
  await page.waitForLoadState('networkidle');
  for (const tab of ['Event History', 'Folders', 'Historical Data', 'Overview']) {
    await page.getByRole('tab', { name: tab }).click();
    await expect(page.getByRole('tab', { name: tab })).toHaveAttribute('aria-selected', 'true');
    await page.waitForLoadState('networkidle');
  }
  await visit(`${CONNECTIONS_PATH}/api-access`, 'API access');
  if (writer) {
    await visit(`${CONNECTIONS_PATH}/new/sftp`, 'Set Up SFTP');
    await visit(`${CONNECTIONS_PATH}/new/api`, 'Set Up API');
  }
  await visit(ACTIVITY_PATH, 'Activity Log');
  await visit('/account/password', /password/i);
  await visit('/docs/api', 'Export API');
}

for (const [role, who, writer] of [
  ['Firstup Super Admin', FIRSTUP, true],
  ['Brand Super Admin', BRAND, false],
] as const) {
  for (const width of [1280, 390]) {
    test(`a ${role} at ${width} px sees no console error, warning or failed request on any page`, async ({ page }) => {
      test.setTimeout(180_000);
      await page.setViewportSize({ width, height: width > 500 ? 800 : 844 });
      const noise: Noise[] = [];
      listen(page, noise);
      await page.goto('/sign-in');
      await page.waitForLoadState('networkidle');
      await signIn(page, who);
      await tour(page, writer);
      expect(noise).toEqual([]);
    });
  }
}
