// Signing in as each role, and what each role sees: role badge, program switcher, navigation.
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { ACTIVITY_PATH, BRAND, CONNECTIONS_PATH, e2ePrograms, FIRSTUP, programSwitcher, signIn } from './fixtures';

async function shoot(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

test.describe('signing in', () => {
  test('a wrong password shows "Email or password is incorrect" and stays on the sign-in page', async ({ page }, testInfo) => {
    await page.goto('/sign-in');
    await page.getByLabel('Email').fill(FIRSTUP.email);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByTestId('sign-in-error')).toHaveText('Email or password is incorrect.');
    await expect(page).toHaveURL(/\/sign-in/);
    await shoot(page, testInfo, 'sign-in-error-1280');
  });

  test('pages send visitors who are not signed in to the sign-in page', async ({ page }) => {
    await page.goto(ACTIVITY_PATH);
    await expect(page).toHaveURL(/\/sign-in$/);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  });

  test('the sign-in page at 1280 and 390 px', async ({ page }, testInfo) => {
    await page.goto('/sign-in');
    await shoot(page, testInfo, 'sign-in-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, testInfo, 'sign-in-390');
  });
});

test.describe('a Firstup Super Admin', () => {
  test('sees the role badge, every program in the switcher and both pages', async ({ page }, testInfo) => {
    const { all } = e2ePrograms();
    await signIn(page, FIRSTUP);
    await expect(page.getByTestId('role-badge').first()).toHaveText('Firstup Super Admin');
    const switcher = programSwitcher(page);
    await expect(switcher.locator('option')).toHaveText(all.map((p) => `${p.name} · ${p.id}`));
    await expect(page.getByRole('heading', { level: 1, name: 'Recurring Data Connections' })).toBeVisible();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link', { name: 'Recurring Data Connections' })).toHaveAttribute('aria-current', 'page');
    await expect(page.getByRole('navigation', { name: 'Breadcrumb' })).toHaveText(/Configure.*Insights.*Recurring Data Connections/);
    await shoot(page, testInfo, 'connections-firstup-1280');

    await nav.getByRole('link', { name: 'Activity Log' }).click();
    await expect(page).toHaveURL(new RegExp(`${ACTIVITY_PATH}$`));
    await expect(page.getByRole('heading', { level: 1, name: 'Activity Log' })).toBeVisible();
    await shoot(page, testInfo, 'activity-log-firstup-1280');
  });

  test('switches programs, and the choice sticks across pages', async ({ page }) => {
    const { all } = e2ePrograms();
    await signIn(page, FIRSTUP);
    const second = all[1];
    const remembered = page.waitForResponse((r) => r.url().endsWith('/api/session/program') && r.status() === 200);
    await programSwitcher(page).selectOption(String(second.id));
    await remembered;
    await page.reload();
    await expect(programSwitcher(page)).toHaveValue(String(second.id));
    await page.goto(ACTIVITY_PATH);
    await expect(programSwitcher(page)).toHaveValue(String(second.id));
    await programSwitcher(page).selectOption(String(all[0].id));
    await expect(programSwitcher(page)).toHaveValue(String(all[0].id));
  });
});

test.describe('a Brand Super Admin', () => {
  test('sees a read-only role badge and only their own program', async ({ page }, testInfo) => {
    const { brand } = e2ePrograms();
    await signIn(page, BRAND);
    await expect(page.getByTestId('role-badge').first()).toHaveText('Brand Super Admin');
    await expect(programSwitcher(page).locator('option')).toHaveText([`${brand.name} · ${brand.id}`]);
    await expect(page.getByRole('heading', { level: 1, name: 'Recurring Data Connections' })).toBeVisible();
    await shoot(page, testInfo, 'connections-brand-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, testInfo, 'connections-brand-390');
  });
});

test.describe('signing out', () => {
  test('returns to the sign-in page, and pages need signing in again', async ({ page }) => {
    await signIn(page, BRAND);
    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/sign-in\?signed_out=1$/);
    await expect(page.getByRole('status')).toHaveText('You are signed out.');
    await page.goto(CONNECTIONS_PATH);
    await expect(page).toHaveURL(/\/sign-in$/);
  });
});

test.describe('at 390 px', () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test('the navigation collapses into a drawer, and the switcher and role badge stay visible', async ({ page }, testInfo) => {
    const { all } = e2ePrograms();
    await signIn(page, FIRSTUP);
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeHidden();
    await expect(page.getByTestId('role-badge')).toBeVisible();
    await expect(programSwitcher(page)).toHaveCount(1);
    await expect(programSwitcher(page).locator('option')).toHaveCount(all.length);
    await shoot(page, testInfo, 'connections-firstup-390');

    const menu = page.getByRole('button', { name: 'Open navigation' });
    await menu.click();
    const drawer = page.getByRole('dialog', { name: 'Navigation' });
    await expect(drawer).toBeVisible();
    await expect(drawer.getByRole('button', { name: 'Close navigation' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(drawer).toBeHidden();
    await expect(menu).toBeFocused();
    await menu.click();
    await expect(drawer).toBeVisible();
    await shoot(page, testInfo, 'nav-drawer-390');
    await drawer.getByRole('link', { name: 'Activity Log' }).click();
    await expect(page).toHaveURL(new RegExp(`${ACTIVITY_PATH}$`));
    await expect(drawer).toBeHidden();
    await shoot(page, testInfo, 'activity-log-firstup-390');
  });
});
