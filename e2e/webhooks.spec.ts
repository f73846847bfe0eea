// Webhooks on the connection page against a real HTTP receiver on 127.0.0.1: a Firstup Super Admin
// adds one (its signing secret shown once), sends a test that the receiver verifies as a customer
// would (Standard Webhooks, with the secret), sees a refused test fail with the receiver's status,
// sends it anew from the delivery log once the receiver answers again, disables and deletes it
// (after confirming), and finds each change in the Activity Log's Webhooks group.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { Webhook } from 'standardwebhooks';
import { ACTIVITY_PATH, FIRSTUP, signIn } from './fixtures';
import { openConnection, shoot } from './ui';

const DEMO_SFTP = 'Acme warehouse (demo SFTP)';

type Received = { headers: IncomingHttpHeaders; body: string };

test.describe.serial('webhooks', () => {
  let server: Server;
  let url: string;
  const received: Received[] = [];
  /** What the receiver answers: a status code. */
  let answer = 204;

  test.beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dde-hooks`;
  });
  test.afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  test('add a webhook, send a signed test, redeliver a refused one, disable and delete it; the Activity Log has each step', async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    await signIn(page, FIRSTUP);
    await openConnection(page, DEMO_SFTP);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const form = page.getByRole('form', { name: 'Add a webhook' });
    await form.getByLabel('Endpoint URL').fill('ftp://example.com/hooks');
    await form.getByRole('button', { name: 'Add webhook' }).click();
    await expect(form.getByText('Enter an http:// or https:// URL.')).toBeVisible();
    await form.getByLabel('Endpoint URL').fill(url);
    await form.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    await shoot(page, testInfo, 'webhook-added');

    const row = page.getByTestId('webhook').filter({ hasText: url });
    await expect(row).toContainText('files.ready, delivery.failed, connection.paused');

    // A test message, verified with the secret as the customer's receiver would.
    await row.getByRole('button', { name: 'Send test' }).click();
    await expect(row.getByRole('status')).toHaveText(/^Test delivered: 204 in \d+ ms$/, { timeout: 30_000 });
    expect(received).toHaveLength(1);
    const first = received[0];
    const verified = new Webhook(secret).verify(first.body, {
      'webhook-id': String(first.headers['webhook-id']),
      'webhook-timestamp': String(first.headers['webhook-timestamp']),
      'webhook-signature': String(first.headers['webhook-signature']),
    }) as { type: string };
    expect(verified.type).toBe('webhook.test');
    expect(first.body).not.toContain(secret);

    // The receiver refuses: the test fails with its status, and the delivery log says so.
    answer = 503;
    await row.getByRole('button', { name: 'Send test' }).click();
    await expect(row.getByRole('status')).toHaveText(/^Test failed: 503/, { timeout: 30_000 });
    await row.getByRole('button', { name: 'Delivery log' }).click();
    const log = row.getByTestId('webhook-log');
    await expect(log.getByRole('row')).toHaveCount(3); // the header and two messages
    const refused = log.getByRole('row').filter({ hasText: '503' });
    await expect(refused).toHaveCount(1);
    await shoot(page, testInfo, 'webhook-log');

    // Answering again, the refused message is sent anew from the log: a new message, signed anew,
    // while the refused one stays in the log as it was.
    answer = 204;
    const before = received.length;
    await refused.getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => received.length, { timeout: 30_000 }).toBe(before + 1);
    await expect(log.getByRole('row')).toHaveCount(4, { timeout: 30_000 });
    // The new message shows as pending first; the log follows it until the receiver's answer is in.
    await expect(log.getByRole('row').filter({ hasText: '204' })).toHaveCount(2, { timeout: 30_000 });
    await expect(log.getByRole('row').filter({ hasText: '503' })).toHaveCount(1);
    const again = received[received.length - 1];
    expect(again.headers['webhook-id']).not.toBe(received[before - 1].headers['webhook-id']);
    expect(
      new Webhook(secret).verify(again.body, {
        'webhook-id': String(again.headers['webhook-id']),
        'webhook-timestamp': String(again.headers['webhook-timestamp']),
        'webhook-signature': String(again.headers['webhook-signature']),
      }),
    ).toMatchObject({ type: 'webhook.test' });

    await row.getByRole('button', { name: 'Disable' }).click();
    await expect(row).toContainText('· disabled');
    await row.getByRole('button', { name: 'Enable' }).click();
    await expect(row).not.toContainText('· disabled');

    // Deleting asks first; Cancel keeps it.
    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this webhook?' });
    await expect(dialog).toContainText(url);
    await shoot(page, testInfo, 'webhook-delete');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(row).toBeVisible();
    await row.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete webhook' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('webhook').filter({ hasText: url })).toHaveCount(0);

    // The Activity Log, filtered to webhooks, has the additions, changes and deletion.
    await page.goto(`${ACTIVITY_PATH}?target_type=webhook`);
    const entries = page.getByTestId('activity-entry');
    for (const action of ['Webhook created', 'Webhook updated', 'Webhook deleted'])
      await expect(entries.filter({ hasText: action }).first()).toBeVisible();
    await page.getByLabel('Action').selectOption({ label: 'Webhook deleted' });
    await expect(entries).toHaveCount(1);
    await expect(entries.first()).toContainText(FIRSTUP.email);
    await shoot(page, testInfo, 'webhook-activity-log');
  });
});
