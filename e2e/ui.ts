// Page helpers shared by the Admin UI specs: screenshots at both widths, confirmation dialogs,
// opening a connection, dates relative to today, and polling the files an SFTP server received.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type Page, type TestInfo } from '@playwright/test';
import { CONNECTIONS_PATH } from './fixtures';

/** The page at 1280 and 390 px wide, the viewport as tall as the page (the shell is fixed, so fullPage would repeat it). */
export async function shoot(page: Page, testInfo: TestInfo, name: string) {
  for (const [width, min] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height: min });
    const height = await page.evaluate(() =>
      Math.max(
        document.documentElement.scrollHeight,
        ...Array.from(document.querySelectorAll('main, [data-scroll]')).map((e) => e.scrollHeight),
      ),
    );
    await page.setViewportSize({ width, height: Math.min(Math.max(min, height), 6000) });
    await page.screenshot({ path: testInfo.outputPath(`${name}-${width}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** YYYY-MM-DD, `offset` days from today (UTC). */
export const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

export async function openConnection(page: Page, name: string) {
  await page.goto(CONNECTIONS_PATH);
  await page.getByRole('link', { name, exact: true }).first().click();
  await expect(page.getByTestId('connection-name')).toHaveText(name);
}

export async function confirmIn(page: Page, button: string) {
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: button, exact: true }).click();
  await expect(dialog).toBeHidden();
}

/** The names in a folder on an SFTP server's disk (none when it does not exist). */
export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** The manifests under their final names in `dir` (an upload still in flight is a hidden `.…part-…` file). */
export function manifestsIn(dir: string): string[] {
  return filesIn(dir).filter((f) => !f.startsWith('.') && /-manifest-.*\.json$/.test(f));
}

/** Waits until `dir` holds at least `count` manifests (the completion marker of a run); returns their names. */
export async function waitForManifests(dir: string, count: number, timeout = 60_000): Promise<string[]> {
  await expect.poll(() => manifestsIn(dir).length, { timeout, message: `${count} manifest(s) in ${dir}` }).toBeGreaterThanOrEqual(count);
  return manifestsIn(dir);
}

/** `sha256sum -c` over every sidecar in `dir`, as a customer would check a delivery; returns its output. */
export function verifyChecksums(dir: string): string {
  const sidecars = filesIn(dir).filter((f) => f.endsWith('.sha256'));
  expect(sidecars.length, `checksum sidecars in ${dir}`).toBeGreaterThan(0);
  return execFileSync('sha256sum', ['-c', ...sidecars], { cwd: dir, encoding: 'utf8' });
}

/** Every data file a manifest lists is in `dir` with the manifest's size. */
export function checkManifest(dir: string, manifest: string): { files: { name: string; bytes: number; rows: number }[] } {
  const m = JSON.parse(readFileSync(path.join(dir, manifest), 'utf8')) as { files: { name: string; bytes: number; rows: number }[] };
  expect(m.files.length).toBeGreaterThan(0);
  for (const f of m.files) expect(readFileSync(path.join(dir, f.name)).length, f.name).toBe(f.bytes);
  return m;
}
