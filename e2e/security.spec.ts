// Security hardening in a real browser: every page passes its Content-Security-Policy with no
// console errors and carries the security headers; a locked account sees "Too many attempts" on the
// sign-in page; an off-site callbackUrl stays on this site.
import { expect, test, type ConsoleMessage, type Page } from '@playwright/test';
import { ACTIVITY_PATH, CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';

function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text())) problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

test('every page passes the CSP with no console errors and sends the security headers', async ({ page }) => {
  const problems = watchConsole(page);
  const res = await page.goto('/sign-in');
  const headers = res!.headers();
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  const api = await page.request.get('/api/health');
  expect(api.headers()['content-security-policy']).toContain("default-src 'self'");
  expect(api.headers()['x-content-type-options']).toBe('nosniff');

  await signIn(page, FIRSTUP);
  for (const p of [
    CONNECTIONS_PATH,
    `${CONNECTIONS_PATH}/new/sftp`,
    `${CONNECTIONS_PATH}/api-access`,
    ACTIVITY_PATH,
    '/account/password',
    '/docs/api',
  ]) {
    await page.goto(p);
    await page.waitForLoadState('networkidle');
  }
  expect(problems).toEqual([]);
});

test('a locked account sees "Too many attempts" on the sign-in page, even with the right password', async ({ page }) => {
  const email = `locked-${Date.now()}@e2e.example.com`;
  await page.goto('/sign-in');
  for (let i = 0; i < 10; i++) {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(`wrong password ${i}`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByTestId('sign-in-error')).toHaveText('Email or password is incorrect.');
  }
  await page.getByLabel('Password', { exact: true }).fill('wrong password again');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByTestId('sign-in-error')).toHaveText('Too many attempts. Try again in 15 minutes.');
});

test('an off-site callbackUrl is not followed after sign-in', async ({ page }) => {
  await page.goto('/sign-in?callbackUrl=/%09/evil.example');
  await page.getByLabel('Email').fill(FIRSTUP.email);
  await page.getByLabel('Password', { exact: true }).fill(FIRSTUP.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${CONNECTIONS_PATH}$`));
});
