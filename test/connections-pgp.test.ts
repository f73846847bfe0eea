// OpenPGP keys on SFTP connections through the management API: "Check key" answers the fingerprint
// gpg shows; set-up stores a confirmed public key and the connection answers its fingerprint and
// user IDs; a private key, garbage, a revoked, expired or sign-only key, or an unconfirmed one is
// refused with 422 naming the problem, and nothing is created. Keys are made by gpg.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as getRoute, PATCH as patchRoute } from '@/app/api/v1/connections/[id]/route';
import { POST as replaceKeyRoute } from '@/app/api/v1/connections/[id]/pgp-key/route';
import { POST as stopRoute } from '@/app/api/v1/connections/[id]/stop/route';
import { POST as pgpKeyRoute } from '@/app/api/v1/connections/pgp-key/route';
import { POST as createRoute } from '@/app/api/v1/connections/route';
import { closeDatabase } from '@/db/client';
import { auditLog, connections, notifications, type Account } from '@/db/schema';
import { startSftpSink, type SftpSink } from '@/scripts/dev/sftp-sink';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { gpgSkipReason, startGpg, type TestGpg, type TestKey } from './helpers/gpg';

const skip = gpgSkipReason();
if (skip) console.warn(`Skipping the OpenPGP connection tests: ${skip}`);

type Json = Record<string, unknown>;

describe.skipIf(!!skip)('OpenPGP keys on SFTP connections', () => {
  let t: TestDatabase;
  let sink: SftpSink;
  let work: string;
  let gpg: TestGpg;
  let key: TestKey;
  let firstupCookie: string;
  let brand: Account;
  const PASSWORD = 'sink-password-pgp';
  const today = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
  /** "ABCD 1234 …" as gpg --fingerprint shows it. */
  const grouped = (hex: string) => hex.replace(/(.{4})(?!$)/g, '$1 ');

  async function call<P extends Record<string, string>>(
    handler: RouteHandler<P>,
    c: { method: string; path: string; json?: unknown; params?: P; cookie?: string },
  ): Promise<{ status: number; body: Json }> {
    const res = await handler(request(c.method, c.path, { cookie: c.cookie ?? firstupCookie, json: c.json }), {
      params: Promise.resolve((c.params ?? {}) as P),
    });
    await checkAnswer(c.method, c.path, res);
    return { status: res.status, body: (await res.json()) as Json };
  }
  const errorOf = (r: { body: Json }) =>
    r.body.error as { code: string; message: string; details?: { fields?: { path: string; message: string }[] } };
  const sftpBody = (over: Json = {}) => ({
    kind: 'sftp',
    name: 'Encrypted SFTP',
    frequency: 'daily',
    start_date: today,
    contact_emails: ['ops@example.com'],
    host: sink.host,
    port: sink.port,
    folder: '/',
    username: 'dde',
    auth: { method: 'password', password: PASSWORD },
    host_key_fingerprint: sink.hostKeyFingerprint,
    ...over,
  });
  async function snapshot() {
    const out: Record<string, string> = {};
    for (const table of ['connections', 'audit_log', 'notifications']) {
      const [row] = (await t.db.execute(
        sql.raw(`select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h, count(*)::int as n from ${table} x`),
      )) as unknown as { h: string; n: number }[];
      out[table] = `${row.n}:${row.h}`;
    }
    return out;
  }

  beforeAll(async () => {
    t = await createTestDatabase();
    useTestEnv(t);
    work = mkdtempSync(path.join(tmpdir(), 'dde-pgp-api-'));
    sink = await startSftpSink({ rootDir: path.join(work, 'sink'), username: 'dde', password: PASSWORD });
    await createPrograms(t.db, [{ id: 301, name: 'Acme' }]);
    firstupCookie = await sessionCookie(await createAccount(t.db, { role: 'firstup_super_admin' }));
    brand = await createAccount(t.db, { role: 'brand_super_admin', programIds: [301] });
    gpg = startGpg();
    key = gpg.generate('Acme Data Team <data@acme.example>');
  }, 60_000);
  afterAll(async () => {
    await sink?.close();
    await closeDatabase();
    await t?.drop();
    gpg?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('"Check key" answers the fingerprint exactly as gpg shows it, the user IDs and no expiry, and stores nothing', async () => {
    const before = await snapshot();
    const r = await call(pgpKeyRoute, { method: 'POST', path: '/api/v1/connections/pgp-key', json: { public_key: key.armoredPublic } });
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({
      fingerprint: grouped(key.fingerprint),
      user_ids: ['Acme Data Team <data@acme.example>'],
      expires_at: null,
    });
    expect(await snapshot()).toEqual(before);
  });

  it('"Check key" refuses what is not a usable public key with 422 naming the problem', async () => {
    const signer = gpg.generate('Signer <signer@acme.example>', { usage: 'sign' });
    const old = gpg.generate('Old <old@acme.example>', { fakedTime: '20200101T000000', expire: '2020-06-01' });
    const gone = gpg.generate('Gone <gone@acme.example>');
    const revoked = gpg.revoke(gone);
    const cases: [unknown, RegExp][] = [
      [gpg.exportSecret('data@acme.example'), /^This is a private key\. Paste the public key only/],
      ['hello', /^Paste an armored OpenPGP public key/],
      [
        '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all\n-----END PGP PUBLIC KEY BLOCK-----\n',
        /^The OpenPGP key could not be read/,
      ],
      [signer.armoredPublic, /has no valid subkey that can encrypt/],
      [old.armoredPublic, /expired on 2020-06-01/],
      [revoked, /has been revoked by its owner/],
      [`${key.armoredPublic}\n${'x'.repeat(70_000)}`, /^The OpenPGP key is larger than 64 KB\.$/],
      [42, /./],
    ];
    for (const [publicKey, message] of cases) {
      const r = await call(pgpKeyRoute, { method: 'POST', path: '/api/v1/connections/pgp-key', json: { public_key: publicKey } });
      expect(r.status, String(publicKey).slice(0, 40)).toBe(422);
      const fields = errorOf(r).details?.fields ?? [];
      expect(fields.map((f) => f.path)).toEqual(['public_key']);
      expect(fields[0].message).toMatch(message);
      expect(fields[0].message.trim()).not.toBe('');
    }
  });

  it('"Check key" is for admins who set connections up: a Brand Super Admin is refused', async () => {
    const r = await call(pgpKeyRoute, {
      method: 'POST',
      path: '/api/v1/connections/pgp-key',
      json: { public_key: key.armoredPublic },
      cookie: await sessionCookie(brand),
    });
    expect(r.status).toBe(403);
  });

  it('sets up an SFTP connection encrypted to the confirmed key: the answer shows its fingerprint and user IDs', async () => {
    const r = await call(createRoute, {
      method: 'POST',
      path: '/api/v1/connections?program=301',
      // Confirmed as typed by hand: lower case, no spaces.
      json: sftpBody({ pgp_public_key: key.armoredPublic, pgp_key_fingerprint: key.fingerprint.toLowerCase() }),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const created = r.body.data as { id: string; sftp: Json };
    expect(created.sftp.pgp_key).toEqual({
      fingerprint: grouped(key.fingerprint),
      user_ids: ['Acme Data Team <data@acme.example>'],
      expires_at: null,
    });
    const [row] = await t.db.select().from(connections).where(eq(connections.id, created.id));
    expect(row.pgpPublicKey).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(row.pgpKeyFingerprint).toBe(grouped(key.fingerprint));

    const again = await call(getRoute, {
      method: 'GET',
      path: `/api/v1/connections/${created.id}?program=301`,
      params: { id: created.id },
    });
    expect((again.body.data as { sftp: Json }).sftp.pgp_key).toEqual(created.sftp.pgp_key);

    // The Activity Log names the key by its fingerprint; the contacts' email says the files are encrypted.
    const [audit] = await t.db.select().from(auditLog).where(eq(auditLog.targetId, created.id));
    expect(JSON.stringify(audit.after)).toContain(grouped(key.fingerprint));
    expect(JSON.stringify(audit.after)).not.toContain('BEGIN PGP PUBLIC KEY BLOCK');
    const [email] = await t.db.select().from(notifications).where(eq(notifications.connectionId, created.id));
    expect(email.body).toContain(`Files encrypted to OpenPGP key: ${grouped(key.fingerprint)}`);

    // An edit does not change the key: it is replaced on its own, while stopped.
    const patch = await call(patchRoute, {
      method: 'PATCH',
      path: `/api/v1/connections/${created.id}?program=301`,
      params: { id: created.id },
      json: { pgp_public_key: key.armoredPublic },
    });
    expect(patch.status).toBe(422);
    expect(errorOf(patch).details?.fields?.[0].message).toBe(
      'pgp_public_key cannot be edited here. Replace the OpenPGP key with POST /api/v1/connections/{id}/pgp-key while the connection is stopped.',
    );
  });

  it('refuses set-up with a bad, private, garbage or unconfirmed key with 422 naming the field, creating nothing', async () => {
    const other = gpg.generate('Other Team <other@acme.example>');
    const cases: [Json, string, RegExp][] = [
      [{ pgp_public_key: gpg.exportSecret('data@acme.example'), pgp_key_fingerprint: key.fingerprint }, 'pgp_public_key', /private key/],
      [{ pgp_public_key: 'garbage', pgp_key_fingerprint: key.fingerprint }, 'pgp_public_key', /^Paste an armored OpenPGP public key/],
      [
        { pgp_public_key: key.armoredPublic.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!'), pgp_key_fingerprint: key.fingerprint },
        'pgp_public_key',
        /^The OpenPGP key could not be read/,
      ],
      [{ pgp_public_key: key.armoredPublic }, 'pgp_key_fingerprint', new RegExp(`send pgp_key_fingerprint "${grouped(key.fingerprint)}"`)],
      [
        { pgp_public_key: key.armoredPublic, pgp_key_fingerprint: other.fingerprint },
        'pgp_key_fingerprint',
        /^The confirmed fingerprint is not the pasted key's/,
      ],
      [{ pgp_key_fingerprint: key.fingerprint }, 'pgp_key_fingerprint', /needs pgp_public_key/],
    ];
    for (const [over, field, message] of cases) {
      const before = await snapshot();
      const r = await call(createRoute, { method: 'POST', path: '/api/v1/connections?program=301', json: sftpBody(over) });
      expect(r.status, JSON.stringify(over).slice(0, 60)).toBe(422);
      const fields = errorOf(r).details?.fields ?? [];
      expect(fields.map((f) => f.path)).toEqual([field]);
      expect(fields[0].message).toMatch(message);
      expect(await snapshot()).toEqual(before);
    }
  });
  describe('Replace OpenPGP key', () => {
    const create = async (over: Json = {}) => {
      const r = await call(createRoute, { method: 'POST', path: '/api/v1/connections?program=301', json: sftpBody(over) });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return (r.body.data as { id: string }).id;
    };
    const replace = (id: string, json: Json, cookie?: string) =>
      call(replaceKeyRoute, { method: 'POST', path: `/api/v1/connections/${id}/pgp-key?program=301`, params: { id }, json, cookie });
    const stop = async (id: string) =>
      expect((await call(stopRoute, { method: 'POST', path: `/api/v1/connections/${id}/stop?program=301`, params: { id } })).status).toBe(
        200,
      );

    it('while stopped, the renewed key replaces the old one: the answer and the row show it, the Activity Log names both fingerprints', async () => {
      const id = await create({ pgp_public_key: key.armoredPublic, pgp_key_fingerprint: key.fingerprint });
      const renewed = gpg.generate('Acme Data Team 2027 <data-2027@acme.example>', { expire: '2y' });
      await stop(id);
      const r = await replace(id, { pgp_public_key: renewed.armoredPublic, pgp_key_fingerprint: grouped(renewed.fingerprint) });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const pgpKey = (r.body.data as { status: string; sftp: { pgp_key: { fingerprint: string; user_ids: string[]; expires_at: string } } })
        .sftp.pgp_key;
      expect(pgpKey.fingerprint).toBe(grouped(renewed.fingerprint));
      expect(pgpKey.user_ids).toEqual(['Acme Data Team 2027 <data-2027@acme.example>']);
      // gpg's "2y": about two years from now.
      expect(Math.round((Date.parse(pgpKey.expires_at) - Date.now()) / (365 * 86_400_000))).toBe(2);
      expect((r.body.data as { status: string }).status).toBe('stopped');
      const [row] = await t.db.select().from(connections).where(eq(connections.id, id));
      expect(row.pgpKeyFingerprint).toBe(grouped(renewed.fingerprint));
      expect(row.pgpPublicKey).toBe(`${renewed.armoredPublic.trim()}\n`);

      const [entry] = await t.db
        .select()
        .from(auditLog)
        .where(sql`${auditLog.targetId} = ${id} and ${auditLog.action} = 'connection.pgp_key_replaced'`);
      expect(entry.details).toEqual({ previous_fingerprint: grouped(key.fingerprint), fingerprint: grouped(renewed.fingerprint) });
      expect(JSON.stringify(entry)).not.toContain('BEGIN PGP PUBLIC KEY BLOCK');
    });

    it('gives a connection delivered unencrypted so far its first key', async () => {
      const id = await create();
      await stop(id);
      const r = await replace(id, { pgp_public_key: key.armoredPublic, pgp_key_fingerprint: key.fingerprint.toLowerCase() });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect((r.body.data as { sftp: { pgp_key: { fingerprint: string } } }).sftp.pgp_key.fingerprint).toBe(grouped(key.fingerprint));
      const [entry] = await t.db
        .select()
        .from(auditLog)
        .where(sql`${auditLog.targetId} = ${id} and ${auditLog.action} = 'connection.pgp_key_replaced'`);
      expect(entry.details).toEqual({ previous_fingerprint: null, fingerprint: grouped(key.fingerprint) });
    });

    it('refuses, changing nothing: a running connection (409), a Brand Super Admin (403), an API connection (409), a bad or unconfirmed key (422 naming the field)', async () => {
      const id = await create({ pgp_public_key: key.armoredPublic, pgp_key_fingerprint: key.fingerprint });
      const other = gpg.generate('Other Team <other-2@acme.example>');
      const good = { pgp_public_key: other.armoredPublic, pgp_key_fingerprint: other.fingerprint };

      let before = await snapshot();
      const running = await replace(id, good);
      expect(running.status).toBe(409);
      expect(errorOf(running).message).toBe(
        'Stop the connection before replacing its OpenPGP key; the key can change only while it is stopped (it is active).',
      );
      expect(await snapshot()).toEqual(before);

      await stop(id);
      before = await snapshot();
      expect((await replace(id, good, await sessionCookie(brand))).status).toBe(403);
      expect(await snapshot()).toEqual(before);

      const api = await call(createRoute, {
        method: 'POST',
        path: '/api/v1/connections?program=301',
        json: { kind: 'api', name: 'Feed', frequency: 'daily', start_date: today, contact_emails: ['ops@example.com'] },
      });
      const apiId = (api.body.data as { id: string }).id;
      await stop(apiId);
      before = await snapshot();
      const onApi = await replace(apiId, good);
      expect(onApi.status).toBe(409);
      expect(errorOf(onApi).message).toBe('This is an API connection: its files are not encrypted with OpenPGP.');
      expect(await snapshot()).toEqual(before);

      const cases: [Json, string, RegExp][] = [
        [
          { pgp_public_key: gpg.exportSecret('other-2@acme.example'), pgp_key_fingerprint: other.fingerprint },
          'pgp_public_key',
          /private key/,
        ],
        [{ pgp_public_key: 'garbage', pgp_key_fingerprint: other.fingerprint }, 'pgp_public_key', /^Paste an armored OpenPGP public key/],
        [
          { pgp_public_key: other.armoredPublic },
          'pgp_key_fingerprint',
          new RegExp(`send pgp_key_fingerprint "${grouped(other.fingerprint)}"`),
        ],
        [
          { pgp_public_key: other.armoredPublic, pgp_key_fingerprint: key.fingerprint },
          'pgp_key_fingerprint',
          /^The confirmed fingerprint is not the pasted key's/,
        ],
        [{ pgp_key_fingerprint: other.fingerprint }, 'pgp_public_key', /^Paste the armored OpenPGP public key\./],
        [{ ...good, host: 'elsewhere.example' }, '(root)', /"host"/],
      ];
      for (const [body, field, message] of cases) {
        const r = await replace(id, body);
        expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(422);
        const fields = errorOf(r).details?.fields ?? [];
        expect(fields.map((f) => f.path)).toEqual([field]);
        expect(fields[0].message).toMatch(message);
        expect(await snapshot()).toEqual(before);
      }
    });
  });
});
