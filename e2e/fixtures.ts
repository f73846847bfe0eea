// Accounts, addresses and helpers shared by the end-to-end specs.
import { expect, type Page } from '@playwright/test';

export const E2E_PORT = Number(process.env.E2E_PORT ?? 3199);
export const E2E_BASE_URL = `http://127.0.0.1:${E2E_PORT}`;

/** The first Firstup Super Admin, created by `npm start` from DDE_INITIAL_ADMIN_*. */
export const FIRSTUP = { email: 'admin@e2e.example.com', password: 'e2e admin password 1' };
/** A Brand Super Admin of the first demo program, created by the global setup with `dde users create`. */
export const BRAND = { email: 'brand@e2e.example.com', password: 'e2e brand password 1' };

export type ProgramInfo = { id: number; name: string };

/** The demo programs, as the global setup found them (ordered by name, like the program switcher). */
export function e2ePrograms(): { all: ProgramInfo[]; brand: ProgramInfo } {
  const raw = process.env.E2E_PROGRAMS;
  if (!raw) throw new Error('E2E_PROGRAMS is not set: run the specs through `npm run test:e2e`.');
  return JSON.parse(raw) as { all: ProgramInfo[]; brand: ProgramInfo };
}

export const CONNECTIONS_PATH = '/configure/insights/recurring-data-connections';
export const ACTIVITY_PATH = '/configure/activity-log';

export async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${CONNECTIONS_PATH}$`));
}

/** The program switcher that is visible at the current width (desktop top bar or mobile row). */
export function programSwitcher(page: Page) {
  return page.locator('[data-testid=program-switcher]:visible');
}
