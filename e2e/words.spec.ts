// What the pages say, in people's words (Admin UI, third pass), in a real browser:
// - the Activity Log shows a change as the forms show it ("Every 4 hours → Daily", the contact emails
//   as a list), and its action filter names actions in words;
// - a refused value is named with its field and as it was typed, on the page and in the API's answer.
import { expect, test, type Page } from '@playwright/test';
import { ACTIVITY_PATH, e2ePrograms, FIRSTUP, signIn } from './fixtures';
import { confirmIn, day, openConnection, shoot } from './ui';

const sameOrigin = (page: Page) => ({ origin: new URL(page.url()).origin });

test('an edit in the Activity Log reads as the form showed it; a bad email is named as typed', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { brand } = e2ePrograms();
  await signIn(page, FIRSTUP);
  const name = 'E2E words';
  const res = await page.request.post(`/api/v1/connections?program=${brand.id}`, {
    data: {
      kind: 'api',
      name,
      frequency: 'every_4_hours',
      start_date: `${day(0)}T00:00:00Z`,
      contact_emails: ['data-team@example.com'],
    },
    headers: sameOrigin(page),
  });
  expect(res.status()).toBe(201);
  const id = ((await res.json()) as { data: { id: string } }).data.id;

  await openConnection(page, name);
  await page.getByRole('button', { name: 'Stop' }).click();
  await confirmIn(page, 'Stop');
  await expect(page.getByTestId('connection-status')).toHaveText('Stopped');
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  const form = page.getByRole('form', { name: 'Edit connection' });
  await form.getByLabel('Frequency').selectOption('daily');

  // An address the server refuses: the page names the field and the value as typed, never "contact_emails.1".
  await form.getByLabel('Contact emails').fill('data-team@example.com, ops@exam_ple.com');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form.getByText('“ops@exam_ple.com” is not a valid email address.').first()).toBeVisible();
  await expect(form).not.toContainText('contact_emails');
  await expect(form).not.toContainText('Invalid request body');
  const refused = await page.request.patch(`/api/v1/connections/${id}?program=${brand.id}`, {
    data: { contact_emails: ['data-team@example.com', 'ops@exam_ple.com'] },
    headers: sameOrigin(page),
  });
  expect(refused.status()).toBe(422);
  expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
    'Contact emails: “ops@exam_ple.com” is not a valid email address.',
  );
  await shoot(page, testInfo, 'edit-bad-email');

  await form.getByLabel('Contact emails').fill('data-team@example.com, ops@example.com');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await expect(form).toHaveCount(0);

  // The Activity Log: the edit in the form's words.
  await page.goto(`${ACTIVITY_PATH}?action=connection.edited`);
  const entry = page.getByTestId('activity-entry').filter({ hasText: name }).first();
  await expect(entry).toBeVisible();
  await entry.getByText('Details').click();
  await expect(entry).toContainText('Frequency:Every 4 hours → Daily');
  await expect(entry).toContainText('Contact emails:data-team@example.com → data-team@example.com, ops@example.com');
  await expect(entry).not.toContainText('every_4_hours');
  await expect(entry).not.toContainText('["');
  await expect(entry).not.toContainText('contactEmails');
  // The filter names actions in words.
  const options = await page.getByLabel('Action').locator('option').allTextContents();
  expect(options).toContain('Exported before a slow write finished');
  expect(options.join('|')).not.toMatch(/open-transaction|_/);
  await shoot(page, testInfo, 'activity-log-words');

  expect((await page.request.delete(`/api/v1/connections/${id}?program=${brand.id}`, { headers: sameOrigin(page) })).status()).toBe(200);
});
