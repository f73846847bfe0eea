// Parquet chosen on the Set Up API form, as a Firstup Super Admin would: the form says in one line
// what each format is for (the chosen one stands out), the connection's folders hold `.parquet`
// files, and the activity file downloaded from the Folders tab is read by pyarrow (a real reader)
// with the row count the folder lists and the typed columns of the schema.
import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { CONNECTIONS_PATH, FIRSTUP, signIn } from './fixtures';
import { day, shoot } from './ui';

const NAME = 'E2E Parquet';

test('a Parquet API connection: the format line, .parquet files in its folders, read by pyarrow', async ({ page }, testInfo) => {
  test.setTimeout(240_000);
  await signIn(page, FIRSTUP);
  await page.goto(CONNECTIONS_PATH);
  await page.getByRole('link', { name: 'Set Up API' }).click();
  await page.getByLabel('Connection name').fill(NAME);
  await page.getByLabel('Start date').fill(day(-2));
  await page.getByLabel('Frequency').selectOption('daily');

  // One line per format; the chosen one is emphasised.
  await expect(page.getByTestId('format-use-csv')).toHaveClass(/font-medium/);
  await page.getByLabel('File format').selectOption('parquet');
  const parquetLine = page.getByTestId('format-use-parquet');
  await expect(parquetLine).toHaveText(/^Parquet: typed columns .*for warehouses and lakes/);
  await expect(parquetLine).toHaveClass(/font-medium/);
  await expect(page.getByTestId('format-use-csv')).not.toHaveClass(/font-medium/);
  await shoot(page, testInfo, 'api-setup-parquet');

  await page.getByLabel('Contact emails').fill('parquet@example.com');
  await page.getByRole('button', { name: 'Save connection' }).click();
  await expect(page.getByText('API Connection Active')).toBeVisible();
  await page.getByRole('link', { name: 'View connection' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(NAME);

  // Two daily windows are exported at once; the newest folder opens with its files listed.
  await page.getByRole('tab', { name: 'Folders' }).click();
  const folder = page.getByTestId('folder').first();
  await expect(folder).toBeVisible({ timeout: 180_000 });
  const activity = folder.getByRole('listitem').filter({ hasText: '-activity-incremental.parquet' });
  await expect(activity).toHaveCount(1);
  for (const type of ['user', 'campaign', 'activity'])
    await expect(folder.getByText(new RegExp(`-${type}-incremental\\.parquet$`))).toHaveCount(1);
  await expect(folder.getByText(/\.gz$/)).toHaveCount(0);
  await shoot(page, testInfo, 'folders-parquet');

  const listedRows = Number((await activity.getByText(/ rows · /).textContent())!.split(' rows')[0].replace(/,/g, ''));
  const [download] = await Promise.all([page.waitForEvent('download'), activity.getByRole('link', { name: /^Download / }).click()]);
  expect(download.suggestedFilename()).toMatch(/-activity-incremental\.parquet$/);
  const file = (await download.path())!;
  const read = execFileSync(
    'python3',
    [
      '-c',
      [
        'import json, sys, pyarrow.parquet as pq',
        't = pq.read_table(sys.argv[1])',
        'meta = pq.read_metadata(sys.argv[1]).metadata',
        'print(json.dumps({"rows": t.num_rows, "types": {f.name: str(f.type) for f in t.schema},',
        '  "schema_version": meta[b"dde.schema_version"].decode()}))',
      ].join('\n'),
      file,
    ],
    { encoding: 'utf8' },
  );
  const seen = JSON.parse(read) as { rows: number; types: Record<string, string>; schema_version: string };
  expect(seen.rows).toBe(listedRows);
  expect(seen.types.event_id).toBe('string');
  expect(seen.types.ingested_at).toBe('timestamp[us, tz=UTC]');
  expect(seen.types.likes).toBe('int64');
  expect(seen.schema_version).toMatch(/^\d+$/);
});
