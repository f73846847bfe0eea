// Email notifications against a real SMTP listener (smtp-server on 127.0.0.1) and the .eml fallback.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notifications } from '@/db/schema';
import { resetEnv } from '@/lib/env';
import {
  composeConnectionActive,
  composeConnectionIssue,
  composeDeliveryReport,
  describeSftpDestination,
  recordNotification,
  sendEmail,
  sendPendingNotification,
  sendPendingNotifications,
} from '@/lib/notify';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { startSmtp } from './helpers/smtp';

/** The decoded text body of a received message (nodemailer may quoted-printable-encode it). */
function bodyOf(raw: string): string {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return /quoted-printable/i.test(raw)
    ? body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    : body;
}

const destination = describeSftpDestination({ host: 'sftp.acme.example', port: 22, username: 'acme-dde', folder: '/incoming/dde' });
const window = { start: new Date('2026-11-28T08:00:00Z'), end: new Date('2026-11-28T12:00:00Z') };

let t: TestDatabase;
let dataDir: string;
let smtp: Awaited<ReturnType<typeof startSmtp>>;

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-notify-'));
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp?.close();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
  resetEnv({ SMTP_URL: undefined });
});
beforeEach(() => {
  smtp.received.length = 0;
});

describe('email composition', () => {
  it('reports a delivered run with its files, rows, bytes and destination', () => {
    const m = composeDeliveryReport({
      connectionName: 'Acme warehouse',
      destination,
      exportType: 'incremental',
      window,
      files: [
        { name: '4021-11-28-2026-08-activity-incremental.gz', rows: 183211, bytes: 4_810_022 },
        { name: '4021-11-28-2026-08-user-incremental.gz', rows: 12, bytes: 900 },
      ],
      outcome: { status: 'delivered', finishedAt: new Date('2026-11-28T12:06:01Z') },
    });
    expect(m.subject).toBe('DDE delivery succeeded: Acme warehouse (2026-11-28 08:00 UTC)');
    expect(m.text).toContain('acme-dde@sftp.acme.example:22, folder /incoming/dde');
    expect(m.text).toContain('4021-11-28-2026-08-activity-incremental.gz: 183,211 rows, 4.81 MB');
    expect(m.text).toContain('Files (2; 183,223 rows, 4.81 MB)');
    expect(m.text).toContain('2026-11-28 08:00 UTC – 2026-11-28 12:00 UTC');
  });

  it('reports a failed run with the error code, message and what to do', () => {
    const m = composeDeliveryReport({
      connectionName: 'Acme warehouse',
      destination,
      exportType: 'incremental',
      window,
      files: [{ name: 'a.gz', rows: 1, bytes: 10 }],
      outcome: {
        status: 'failed',
        errorCode: 'auth_failed',
        errorMessage: 'The SFTP server at sftp.acme.example:22 rejected the credentials for user "acme-dde".',
        attempts: 1,
        retryPossibleUntil: new Date('2026-12-05T12:00:00Z'),
      },
    });
    expect(m.subject).toBe('DDE delivery failed (sign-in rejected): Acme warehouse (2026-11-28 08:00 UTC)');
    expect(m.text).toContain('Error: auth_failed — The SFTP server at sftp.acme.example:22 rejected the credentials');
    expect(m.text).toContain('does not retry this kind of error automatically');
    expect(m.text).toContain('until 2026-12-05 12:00 UTC');
  });

  it('announces an active connection with the pinned host key, and a health-check issue with its error', () => {
    const active = composeConnectionActive({
      connectionName: 'Acme',
      destination,
      hostKeyFingerprint: 'SHA256:abc',
      frequency: 'every_4_hours',
    });
    expect(active.subject).toBe('DDE SFTP connection active: Acme');
    expect(active.text).toContain('Server host key: SHA256:abc');
    expect(active.text).toContain('Frequency: every 4 hours');
    const issue = composeConnectionIssue({
      connectionName: 'Acme',
      destination,
      checkedAt: new Date('2026-11-29T03:00:00Z'),
      error: { code: 'host_key_mismatch', message: 'presented a different host key' },
    });
    expect(issue.subject).toBe('DDE connection issue (server identity changed): Acme');
    expect(issue.text).toContain('Error: host_key_mismatch — presented a different host key');
    expect(issue.text).toContain('Stop the connection, Replace credentials, test and trust the new key, then Start it');
    expect(issue.text).not.toMatch(/recreate/i);
  });
});

describe('sending email', () => {
  it('delivers a message to every recipient through the SMTP server named by SMTP_URL', async () => {
    resetEnv({ SMTP_URL: smtp.url, DDE_DATA_DIR: dataDir, SMTP_FROM: 'DDE <dde@example.test>' });
    const r = await sendEmail({ to: ['ops@acme.example', 'data@acme.example'], subject: 'Hello', text: 'Body line — ünïcode' });
    expect(r.via).toBe('smtp');
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0].from).toBe('dde@example.test');
    expect(smtp.received[0].to).toEqual(['ops@acme.example', 'data@acme.example']);
    expect(smtp.received[0].raw).toContain('Subject: Hello');
    expect(Buffer.from(bodyOf(smtp.received[0].raw), 'latin1').toString('utf8')).toContain('Body line — ünïcode');
  });

  it('writes an .eml file under the data dir when no SMTP server is configured', async () => {
    resetEnv({ SMTP_URL: undefined, DDE_DATA_DIR: dataDir });
    const r = await sendEmail({ to: 'ops@acme.example', subject: 'Stored', text: 'Kept as a file' });
    expect(r.via).toBe('file');
    if (r.via !== 'file') return;
    expect(path.dirname(r.path)).toBe(path.join(dataDir, 'mail'));
    expect(r.path.endsWith('.eml')).toBe(true);
    const eml = readFileSync(r.path, 'utf8');
    expect(eml).toContain('To: ops@acme.example');
    expect(eml).toContain('Subject: Stored');
    expect(eml).toContain('Kept as a file');
    expect(readdirSync(path.join(dataDir, 'mail')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(smtp.received).toHaveLength(0);
  });

  it('fails with a clear error when the SMTP server cannot be reached', async () => {
    await expect(sendEmail({ to: 'a@b.example', subject: 'x', text: 'y' }, { smtpUrl: 'smtp://127.0.0.1:1' })).rejects.toThrow(
      /ECONNREFUSED|connect/i,
    );
  });
});

describe('notification outbox', () => {
  it('sends a recorded delivery report once, even when asked twice', async () => {
    const report = composeDeliveryReport({
      connectionName: 'Acme',
      destination,
      exportType: 'incremental',
      window,
      files: [],
      outcome: { status: 'delivered', finishedAt: window.end },
    });
    const { id } = await recordNotification(t, {
      kind: 'delivery_report',
      to: ['ops@acme.example', 'ops@acme.example'],
      subject: report.subject,
      body: report.text,
    });
    const first = await sendPendingNotification(t, id, { email: { smtpUrl: smtp.url } });
    const second = await sendPendingNotification(t, id, { email: { smtpUrl: smtp.url } });
    expect(first).toMatchObject({ status: 'sent', sentNow: true, attempts: 1 });
    expect(second).toMatchObject({ status: 'sent', sentNow: false, retryable: false });
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0].to).toEqual(['ops@acme.example']);
    const [row] = await t.db.select().from(notifications).where(eq(notifications.id, id));
    expect(row).toMatchObject({ status: 'sent', attempts: 1, error: null });
    expect(row.sentAt).toBeInstanceOf(Date);
  });

  it('sends exactly one email when two workers send the same notification at once', async () => {
    const { id } = await recordNotification(t, { kind: 'connection_active', to: ['ops@acme.example'], subject: 'Concurrent', body: 'x' });
    const results = await Promise.all([1, 2, 3].map(() => sendPendingNotification(t, id, { email: { smtpUrl: smtp.url } })));
    expect(results.filter((r) => r.sentNow)).toHaveLength(1);
    expect(results.every((r) => r.status === 'sent' || r.status === 'busy')).toBe(true);
    expect(smtp.received.filter((m) => m.raw.includes('Subject: Concurrent'))).toHaveLength(1);
  });

  it('records the same run report only once when the handler runs twice', async () => {
    const runId = '2b1a7c1e-1d3a-4e1b-9a5c-0c9a1f2e3d4b';
    const input = { kind: 'delivery_report' as const, to: ['ops@acme.example'], subject: 'Run report', body: 'b', runId };
    const a = await recordNotification(t, input, { skipIfExists: true });
    const b = await recordNotification(t, input, { skipIfExists: true });
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false });
    const rows = await t.db.select().from(notifications).where(eq(notifications.runId, runId));
    expect(rows).toHaveLength(1);
    expect(rows[0].to).toEqual(['ops@acme.example']);
  });

  it('keeps a message pending with the error after an SMTP refusal, and marks it failed after the last attempt', async () => {
    const refusing = await startSmtp({ reject: () => true });
    try {
      const { id } = await recordNotification(t, { kind: 'connection_issue', to: ['ops@acme.example'], subject: 'Refused', body: 'x' });
      const r1 = await sendPendingNotification(t, id, { maxAttempts: 2, email: { smtpUrl: refusing.url } });
      expect(r1).toMatchObject({ status: 'pending', retryable: true, attempts: 1 });
      expect(r1.error).toMatch(/Mailbox unavailable/);
      const r2 = await sendPendingNotification(t, id, { maxAttempts: 2, email: { smtpUrl: refusing.url } });
      expect(r2).toMatchObject({ status: 'failed', retryable: false, attempts: 2 });
      const [row] = await t.db.select().from(notifications).where(eq(notifications.id, id));
      expect(row).toMatchObject({ status: 'failed', attempts: 2 });
      expect(row.error).toMatch(/Mailbox unavailable/);
    } finally {
      await refusing.close();
    }
  });

  it('marks a message written when it went to an .eml file, and sweeps every pending message', async () => {
    await t.db.update(notifications).set({ status: 'failed' }).where(eq(notifications.status, 'pending'));
    await recordNotification(t, { kind: 'delivery_report', to: ['a@acme.example'], subject: 'Sweep 1', body: 'x' });
    await recordNotification(t, { kind: 'delivery_report', to: ['b@acme.example'], subject: 'Sweep 2', body: 'y' });
    const counts = await sendPendingNotifications(t, { email: { smtpUrl: null, dataDir } });
    expect(counts.written).toBe(2);
    const rows = await t.db.select().from(notifications).where(eq(notifications.status, 'written'));
    expect(rows.map((r) => r.subject).sort()).toEqual(['Sweep 1', 'Sweep 2']);
    const files = readdirSync(path.join(dataDir, 'mail')).map((f) => readFileSync(path.join(dataDir, 'mail', f), 'utf8'));
    expect(files.some((f) => f.includes('Subject: Sweep 1'))).toBe(true);
  });

  it('reports an unknown notification as not found', async () => {
    expect(await sendPendingNotification(t, '00000000-0000-4000-8000-000000000000')).toEqual({
      status: 'not_found',
      sentNow: false,
      retryable: false,
    });
  });
});
