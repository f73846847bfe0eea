// The connection page's Completeness tab (issue #28, item 3), on the demo SFTP connection whose
// last day's windows the product delivers at start:
// - a Firstup Super Admin sees the windows of the sequence folded into one range: all delivered,
//   every manifest signature verified, the rows, no gaps;
// - a manifest changed in storage behind the product's back (as anyone who can write there could)
//   stands out: its window alone, highlighted, its signature "Invalid" and the problem named, and
//   the summary counts it; put back, the range is whole again;
// - a Brand Super Admin reads the same table.
// Screenshots at 1280 and 390 px: completeness, completeness-forged, completeness-brand.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { e2eDataDir, e2eSql } from './db';
import { BRAND, FIRSTUP, signIn } from './fixtures';
import { openConnection, shoot } from './ui';

const DEMO_SFTP = 'Acme warehouse (demo SFTP)';

/** Opens the Completeness tab and waits until every window listed is whole (all folded into ranges). */
async function openWhole(page: Page) {
  await openConnection(page, DEMO_SFTP);
  await page.getByRole('tab', { name: 'Completeness' }).click();
  await expect(page).toHaveURL(/tab=completeness/);
  const table = page.getByTestId('completeness-table');
  // The demo's windows are delivered within a minute of the start; any still in flight stands alone until then.
  await expect(table.getByTestId('completeness-range').first()).toBeVisible({ timeout: 120_000 });
  await expect(table.getByTestId('completeness-window')).toHaveCount(0, { timeout: 120_000 });
  await expect(page.getByTestId('completeness-summary')).toHaveText(/^\d+ windows? shown, no gaps\.$/);
  return table;
}

test.describe.serial('the Completeness tab', () => {
  test('shows the delivered sequence as one verified range, and names a forged manifest', async ({ page }, testInfo) => {
    test.setTimeout(240_000);
    await signIn(page, FIRSTUP);
    const table = await openWhole(page);
    const range = table.getByTestId('completeness-range').first();
    await expect(range).toContainText(/^#1(–\d+)?/);
    await expect(range).toContainText(/All \d+ verified|Verified/);
    await expect(range.getByRole('cell').last()).toHaveText('None');
    const shown = Number((await page.getByTestId('completeness-summary').textContent())!.match(/^(\d+)/)![1]);
    await expect(table.locator('thead')).toContainText('SequenceWindowDeliveredSignatureRowsGaps');
    await shoot(page, testInfo, 'completeness');

    // The newest window's manifest, changed in storage (one row count bumped).
    const sql = e2eSql();
    let key: string;
    let sequence: number;
    try {
      const [row] = await sql<{ storage_key: string; sequence: number }[]>`
        select f.storage_key, r.sequence from export_files f
        join export_runs r on r.id = f.run_id join connections c on c.id = r.connection_id
        where c.name = ${DEMO_SFTP} and r.export_type = 'incremental' and f.file_type = 'manifest' and r.status = 'delivered'
        order by r.sequence desc limit 1`;
      key = row.storage_key;
      sequence = row.sequence;
    } finally {
      await sql.end({ timeout: 2 });
    }
    const file = path.join(e2eDataDir(), 'exports', key);
    const original = readFileSync(file);
    writeFileSync(file, original.toString('utf8').replace('"rows": ', '"rows": 1'));
    try {
      await page.reload();
      const forged = table.locator(`[data-testid=completeness-window][data-sequence="${sequence}"]`);
      await expect(forged).toBeVisible();
      await expect(forged).toHaveClass(/bg-red-50/);
      await expect(forged.getByRole('cell').nth(3)).toHaveText('Invalid');
      await expect(forged.getByTestId('window-problems')).toHaveText(
        'The manifest’s signature does not hold: the signature does not match the manifest.',
      );
      await expect(page.getByTestId('completeness-summary')).toHaveText(`1 of ${shown} windows shown has a gap or fault.`);
      await shoot(page, testInfo, 'completeness-forged');
      // At 390 px the same window is a card, highlighted, its problem named.
      await page.setViewportSize({ width: 390, height: 844 });
      const card = page.getByTestId('completeness-card').filter({ hasText: `#${sequence}` });
      await expect(card).toContainText('Signature: Invalid');
      await expect(card).toContainText('the signature does not match the manifest');
      await page.setViewportSize({ width: 1280, height: 800 });
    } finally {
      writeFileSync(file, original);
    }
    await page.reload();
    await expect(table.locator(`[data-testid=completeness-window][data-sequence="${sequence}"]`)).toHaveCount(0);
    await expect(page.getByTestId('completeness-summary')).toHaveText(/^\d+ windows? shown, no gaps\.$/);
  });

  test('a Brand Super Admin reads the same table', async ({ page }, testInfo) => {
    await signIn(page, BRAND);
    const table = await openWhole(page);
    const range = table.getByTestId('completeness-range').first();
    await expect(range).toContainText(/All \d+ verified|Verified/);
    // Unfolded, the range lists each window: delivered, verified, its rows.
    const toggle = range.getByRole('button', { name: /Show \d+ windows/ });
    if (await toggle.count()) {
      await toggle.click();
      const first = table.locator('[data-testid=completeness-window][data-sequence="1"]');
      await expect(first).toContainText('Verified');
      await expect(first.getByRole('cell').nth(2)).toHaveText(/^Yes/);
    }
    await shoot(page, testInfo, 'completeness-brand');
  });
});
