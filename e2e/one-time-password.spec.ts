// An account created with a one-time password must choose its own password before anything else.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { e2eDataDir } from './db';
import { CONNECTIONS_PATH, e2ePrograms } from './fixtures';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('signing in with a one-time password leads to choosing a new one, then into the product', async ({ page }, testInfo) => {
  const { brand } = e2ePrograms();
  const email = `otp-${Date.now()}@e2e.example.com`;
  const env: NodeJS.ProcessEnv = { ...process.env, DDE_DATA_DIR: e2eDataDir() };
  delete env.DATABASE_URL;
  const created = spawnSync(
    'npx',
    ['tsx', 'scripts/cli.ts', 'users', 'create', '--email', email, '--role', 'brand_super_admin', '--program', String(brand.id)],
    {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(created.status, created.stderr).toBe(0);
  const oneTime = /One-time password: (\S+)/.exec(created.stdout)?.[1];
  expect(oneTime).toBeTruthy();

  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(oneTime!);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/account\/password$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Choose your password' })).toBeVisible();
  await page.goto(CONNECTIONS_PATH);
  await expect(page).toHaveURL(/\/account\/password$/);
  await page.screenshot({ path: testInfo.outputPath('choose-password-1280.png'), fullPage: true });

  await page.getByLabel('One-time password').fill(oneTime!);
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('Repeat new password').fill('short');
  await page.getByRole('button', { name: 'Save password' }).click();
  await expect(page.getByText('The new password must be at least 12 characters.')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('choose-password-error-1280.png'), fullPage: true });

  await page.getByLabel('New password', { exact: true }).fill('my own password 42');
  await page.getByLabel('Repeat new password').fill('my own password 42');
  await page.getByRole('button', { name: 'Save password' }).click();
  await expect(page).toHaveURL(new RegExp(`${CONNECTIONS_PATH}$`));
  await expect(page.getByTestId('role-badge')).toHaveText('Brand Super Admin');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/account/password');
  await expect(page.getByRole('heading', { level: 1, name: 'Change password' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('change-password-390.png'), fullPage: true });
});
