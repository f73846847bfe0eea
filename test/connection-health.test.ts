// The daily connection check against a real OpenSSH sshd: each connection is checked on its own (a
// secret that cannot be decrypted does not stop the check of the next one), a server that stops
// answering gets one "connection issue" report however many checks fail, and one "connection
// active again" when it answers again. A connection whose files are encrypted to an OpenPGP key
// (made by gpg) tells its contacts once when the key is two weeks from expiring and once when it has.
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
import { resetClock, setClock } from '@/lib/clock';
import { checkConnections, PGP_KEY_NOTICE_DAYS } from '@/lib/notify';
import { useTestEnv, OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { gpgSkipReason, startGpg } from './helpers/gpg';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

let t: TestDatabase;
let dataDir: string;
let sshd: TestSshd;
const skip = sshdSkipReason();
const skipGpg = gpgSkipReason();
const PROGRAM = 91;
const admin = OPS_ADMIN;
/** Short timeouts: a stopped server refuses at once, so the bound only matters if something hangs. */
const timeouts = { readyTimeoutMs: 5_000, operationTimeoutMs: 5_000 };

async function connect(
  name: string,
  contacts: string[],
  pgp?: { pgp_public_key: string; pgp_key_fingerprint: string },
): Promise<Connection> {
  const input = await createConnectionSchema.parseAsync({
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
    ...pgp,
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

  it.skipIf(skip || skipGpg)(
    "tells an encrypted connection's contacts once when its OpenPGP key is about to expire, and once when it has",
    async () => {
      const gpg = startGpg();
      try {
        const key = gpg.generate('Acme Data Team <data@acme.example>', { expire: '10d' });
        const c = await connect('Encrypted drop', ['data-team@customer.example'], {
          pgp_public_key: key.armoredPublic,
          pgp_key_fingerprint: key.fingerprint,
        });
        const [stored] = await t.db.select().from(connections).where(eq(connections.id, c.id));
        const expiresAt = stored.pgpKeyExpiresAt!;
        const pgpMail = async () =>
          (
            await t.db.select().from(notifications).where(eq(notifications.connectionId, c.id)).orderBy(asc(notifications.createdAt))
          ).filter((n) => n.kind === 'pgp_key_expiring');
        const mine = (vs: Awaited<ReturnType<typeof checkConnections>>) => vs.find((v) => v.connectionId === c.id)!;
        const at = (ms: number) => setClock(new Date(expiresAt.getTime() + ms));

        // Further away than the notice period: nothing said.
        at(-(PGP_KEY_NOTICE_DAYS + 1) * 86_400_000);
        expect(mine(await checkConnections(t, { timeouts })).pgpKey).toBeUndefined();
        // Ten days before: one message, not repeated by the next day's check.
        at(-10 * 86_400_000);
        expect(mine(await checkConnections(t, { timeouts })).pgpKey).toMatchObject({ reported: 'expiring' });
        at(-9 * 86_400_000);
        const nextDay = mine(await checkConnections(t, { timeouts }));
        expect(nextDay).toMatchObject({ ok: true });
        expect(nextDay.pgpKey).toBeUndefined();
        let mail = await pgpMail();
        expect(mail.map((m) => m.subject)).toEqual([`DDE OpenPGP key expires on ${expiresAt.toISOString().slice(0, 10)}: Encrypted drop`]);
        expect(mail[0].to).toEqual(['data-team@customer.example']);
        expect(mail[0].body).toContain('(in 10 days)');
        expect(mail[0].body).toContain(`Key: ${key.fingerprint.replace(/(.{4})(?!$)/g, '$1 ')} (Acme Data Team <data@acme.example>)`);
        expect(mail[0].body).toContain('replaces its OpenPGP key with it');

        // Once expired: one more message, once.
        at(60_000);
        expect(mine(await checkConnections(t, { timeouts })).pgpKey).toMatchObject({ reported: 'expired' });
        at(86_400_000);
        expect(mine(await checkConnections(t, { timeouts })).pgpKey).toBeUndefined();
        mail = await pgpMail();
        expect(mail.map((m) => m.subject)).toEqual([
          `DDE OpenPGP key expires on ${expiresAt.toISOString().slice(0, 10)}: Encrypted drop`,
          'DDE OpenPGP key expired: Encrypted drop',
        ]);
        expect(mail[1].body).toContain('Deliveries to this connection fail until it has a key that is valid');
      } finally {
        resetClock();
        gpg.cleanup();
      }
    },
    120_000,
  );
});
