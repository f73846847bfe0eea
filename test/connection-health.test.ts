// The daily connection check against a real OpenSSH sshd: each connection is checked on its own (a
// secret that cannot be decrypted does not stop the check of the next one), a server that stops
// answering gets one "connection issue" report however many checks fail, and one "connection
// active again" when it answers again.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, notifications, programs, type Connection } from '@/db/schema';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { sftpSetupCheck } from '@/lib/connections/sftp-check';
import { checkConnections } from '@/lib/notify';
import { useTestEnv, OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

let t: TestDatabase;
let dataDir: string;
let sshd: TestSshd;
const skip = sshdSkipReason();
const PROGRAM = 91;
const admin = OPS_ADMIN;
/** Short timeouts: a stopped server refuses at once, so the bound only matters if something hangs. */
const timeouts = { readyTimeoutMs: 5_000, operationTimeoutMs: 5_000 };

async function connect(name: string, contacts: string[]): Promise<Connection> {
  const input = createConnectionSchema.parse({
    kind: 'sftp',
    name,
    frequency: 'daily',
    start_date: new Date(Date.now() - 86_400_000).toISOString(),
    contact_emails: contacts,
    host: sshd.host,
    port: sshd.port,
    folder: 'drop',
    username: sshd.username,
    auth: { method: 'private_key', private_key: sshd.privateKey },
    host_key_fingerprint: sshd.hostKeyFingerprint,
  });
  return createConnection(t, admin, PROGRAM, input, sftpSetupCheck());
}

async function healthMail(c: Connection) {
  return t.db
    .select()
    .from(notifications)
    .where(and(eq(notifications.connectionId, c.id)))
    .orderBy(asc(notifications.createdAt))
    .then((rows) => rows.filter((r) => r.kind === 'connection_issue' || r.kind === 'connection_recovered'));
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-health-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  await t.db.insert(programs).values({ id: PROGRAM, name: 'Health program' }).onConflictDoNothing();
  if (!skip) {
    sshd = await startSshd();
    spawnSync('install', ['-d', '-o', String(sshd.uid), '-g', String(sshd.gid), path.join(sshd.rootDir, 'drop')]);
  }
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('daily connection check', () => {
  it.skipIf(skip)(
    'checks each connection on its own; reports a server that stops answering once, and once when it is active again',
    async () => {
      // Checked first (oldest): its stored secret no longer decrypts (a key rotated without re-entering it).
      const broken = await connect('Broken secret', ['broken@customer.example']);
      await t.db.update(connections).set({ secretCiphertext: 'v1.AAAAAAAA.AAAA.AAAA.AAAA' }).where(eq(connections.id, broken.id));
      const healthy = await connect('Warehouse drop', ['data-team@customer.example']);

      const first = await checkConnections(t, { timeouts });
      expect(first.map((v) => [v.connectionId, v.ok, v.code ?? null])).toEqual([
        [broken.id, false, 'auth_failed'],
        [healthy.id, true, null],
      ]);
      const [brokenIssue] = await healthMail(broken);
      expect(brokenIssue.subject).toBe('DDE connection issue (sign-in rejected): Broken secret');
      expect(brokenIssue.body).toContain('DDE cannot use the stored password or key');
      expect(await healthMail(healthy)).toEqual([]);

      await sshd.stop({ keep: true });
      const down = await checkConnections(t, { timeouts });
      expect(down.find((v) => v.connectionId === healthy.id)).toMatchObject({ ok: false, code: 'refused', reported: 'issue' });
      const again = await checkConnections(t, { timeouts });
      expect(again.find((v) => v.connectionId === healthy.id)).toMatchObject({ ok: false, code: 'refused' });
      expect(again.find((v) => v.connectionId === healthy.id)?.reported).toBeUndefined();
      let mail = await healthMail(healthy);
      expect(mail.map((m) => m.subject)).toEqual(['DDE connection issue (connection refused): Warehouse drop']);
      expect(mail[0].to).toEqual(['data-team@customer.example']);
      expect(mail[0].body).toContain(`Destination: ${sshd.username}@${sshd.host}:${sshd.port}, folder drop`);
      expect(mail[0].body).toContain('Check that the SFTP server is running');
      expect(mail[0].body).not.toContain('PRIVATE KEY');

      await sshd.restart();
      const up = await checkConnections(t, { timeouts });
      expect(up.find((v) => v.connectionId === healthy.id)).toMatchObject({ ok: true, reported: 'recovered' });
      expect((await checkConnections(t, { timeouts })).find((v) => v.connectionId === healthy.id)?.reported).toBeUndefined();
      mail = await healthMail(healthy);
      expect(mail.map((m) => m.subject)).toEqual([
        'DDE connection issue (connection refused): Warehouse drop',
        'DDE connection active again: Warehouse drop',
      ]);
      expect(mail[1].body).toContain('the server answers again');
      // The broken one was reported once, on the first check, and never again.
      expect(await healthMail(broken)).toHaveLength(1);
      const [row] = await t.db.select().from(connections).where(eq(connections.id, healthy.id));
      expect(row.healthStatus).toBe('ok');
    },
    120_000,
  );
});
