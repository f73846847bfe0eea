// The one gate: who may call a route, and what they learn when they may not.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as createConnection } from '@/app/api/v1/connections/route';
import { POST as selectProgramRoute } from '@/app/api/session/program/route';
import { closeDatabase } from '@/db/client';
import { apiClients, apiTokens, auditLog, connections, type Account } from '@/db/schema';
import { createApiToken } from '@/lib/auth/tokens';
import { setClock, resetClock } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { withAuth } from '@/lib/auth/with-auth';
import { checked } from './helpers/api-answers';
import { createAccount, createPrograms, noParams, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

const createConnectionRoute = checked(createConnection);

let t: TestDatabase;
let firstup: Account;
let brand: Account;
let clientId: string;

const today = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
// The program is named by ?program= in the URL (see each request); the body is the connection.
const body = (_programId: number) => ({
  kind: 'api',
  frequency: 'daily',
  start_date: today,
  contact_emails: ['data-team@example.com'],
});

async function counts() {
  const [{ c }] = await t.db.select({ c: sql<number>`count(*)::int` }).from(connections);
  const [{ a }] = await t.db.select({ a: sql<number>`count(*)::int` }).from(auditLog);
  return { connections: c, audit: a };
}

async function errorOf(res: Response) {
  const json = (await res.json()) as { error: { code: string; message: string; details?: unknown }; request_id: string };
  expect(json.request_id).toBe(res.headers.get('x-request-id'));
  return json.error;
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  await createPrograms(t.db, [
    { id: 101, name: 'Acme' },
    { id: 202, name: 'Globex' },
  ]);
  firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
  brand = await createAccount(t.db, { role: 'brand_super_admin', programIds: [101] });
  const [client] = await t.db
    .insert(apiClients)
    .values({ programId: 101, name: 'Acme warehouse', clientId: 'acme-wh', secretHash: 'x' })
    .returning();
  clientId = client.id;
});
afterAll(async () => {
  resetClock();
  await closeDatabase();
  await t?.drop();
});

describe('unauthenticated requests', () => {
  it('answers 401 with the error shape and a request id when there is neither session nor token', async () => {
    const res = await createConnectionRoute(request('POST', '/api/v1/connections?program=101', { json: body(101) }), noParams);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    const err = await errorOf(res);
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/Sign in/);
  });

  it('keeps a well-formed incoming x-request-id', async () => {
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { json: body(101), headers: { 'x-request-id': 'trace-1234abcd' } }),
      noParams,
    );
    expect(res.headers.get('x-request-id')).toBe('trace-1234abcd');
  });

  it('answers 401 for an unknown token, an expired token and a revoked token', async () => {
    const unknown = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { token: 'dde_thisTokenDoesNotExist000000000', json: body(101) }),
      noParams,
    );
    expect(unknown.status).toBe(401);
    expect((await errorOf(unknown)).message).toMatch(/invalid, expired or revoked/);

    const expired = await createApiToken(t.db, {
      kind: 'personal',
      accountId: firstup.id,
      scopes: ['data_exports.manage'],
      expiresAt: new Date(Date.now() - 1000),
    });
    const r2 = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { token: expired.token, json: body(101) }),
      noParams,
    );
    expect(r2.status).toBe(401);

    const revoked = await createApiToken(t.db, { kind: 'personal', accountId: firstup.id, scopes: ['data_exports.manage'] });
    await t.db.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, revoked.row.id));
    const r3 = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { token: revoked.token, json: body(101) }),
      noParams,
    );
    expect(r3.status).toBe(401);
    expect(await counts()).toEqual({ connections: 0, audit: 0 });
  });

  it('answers 401 for an Authorization header that is not a bearer token', async () => {
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { authorization: 'Basic YWRtaW46YWRtaW4=', json: body(101) }),
      noParams,
    );
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toMatch(/Bearer <token>/);
  });

  it('answers 401 for a forged, an expired and a disabled account’s session cookie', async () => {
    const forged = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { cookie: 'next-auth.session-token=eyJhbGciOiJkaXIifQ.forged', json: body(101) }),
      noParams,
    );
    expect(forged.status).toBe(401);
    const expiredCookie = await sessionCookie(firstup, { maxAge: -60 });
    const expired = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { cookie: expiredCookie, json: body(101) }),
      noParams,
    );
    expect(expired.status).toBe(401);
    const disabled = await createAccount(t.db, { role: 'firstup_super_admin', disabled: true });
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { cookie: await sessionCookie(disabled), json: body(101) }),
      noParams,
    );
    expect(res.status).toBe(401);
  });
});

describe('permissions and scopes', () => {
  it('refuses a Brand Super Admin calling a write route directly with 403, and writes nothing', async () => {
    const before = await counts();
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { cookie: await sessionCookie(brand), json: body(101) }),
      noParams,
    );
    expect(res.status).toBe(403);
    const err = await errorOf(res);
    expect(err.code).toBe('forbidden');
    expect(err.message).toMatch(/Brand Super Admins have read-only access/);
    expect(await counts()).toEqual(before);
  });

  it('refuses a token without the data_exports.manage scope with 403', async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: firstup.id, scopes: ['data_exports.read'] });
    const res = await createConnectionRoute(request('POST', '/api/v1/connections?program=101', { token, json: body(101) }), noParams);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toMatch(/lacks the data_exports.manage scope/);
  });

  it("refuses a Brand Super Admin's personal manage token too: a token never exceeds its owner", async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: brand.id, scopes: ['data_exports.manage'] });
    const res = await createConnectionRoute(request('POST', '/api/v1/connections?program=101', { token, json: body(101) }), noParams);
    expect(res.status).toBe(403);
  });

  it("answers 404 when a program's token reaches for another program, exactly as for a program that does not exist", async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: brand.id, scopes: ['data_exports.read'] });
    const route = withAuth(async (_req, { program }) => Response.json({ program }), { scope: 'data_exports.read', program: 'required' });
    const other = await route(request('GET', '/api/v1/anything?program=202', { token }), noParams);
    const missing = await route(request('GET', '/api/v1/anything?program=999', { token }), noParams);
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await errorOf(other)).message).toBe('Program 202 was not found.');
    expect((await errorOf(missing)).message).toBe('Program 999 was not found.');
  });

  it('answers an API client 404 on the management API whatever its scopes, and writes nothing', async () => {
    const before = await counts();
    for (const scopes of [['data_exports.manage'], ['data_exports.read']] as const) {
      const { token } = await createApiToken(t.db, { kind: 'client', apiClientId: clientId, programId: 101, scopes: [...scopes] });
      for (const program of [101, 202]) {
        const res = await createConnectionRoute(
          request('POST', `/api/v1/connections?program=${program}`, { token, json: body(program) }),
          noParams,
        );
        expect(res.status).toBe(404);
        expect((await errorOf(res)).message).toMatch(/an API client reads its own connections' files only/);
      }
    }
    expect(await counts()).toEqual(before);
  });

  it("lets a Firstup Super Admin's personal manage token create a connection, logged as that token", async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: firstup.id, scopes: ['data_exports.manage'] });
    const res = await createConnectionRoute(request('POST', '/api/v1/connections?program=101', { token, json: body(101) }), noParams);
    expect(res.status).toBe(201);
    const { data: connection } = (await res.json()) as { data: { id: string } };
    const [entry] = await t.db.select().from(auditLog).where(eq(auditLog.targetId, connection.id));
    expect(entry.actorLabel).toMatch(new RegExp(`^${firstup.email.replace(/[.+]/g, '\\$&')} \\(API token dde_`));
  });

  it('refuses a cross-site write made with a session cookie', async () => {
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie: await sessionCookie(firstup),
        json: body(101),
        headers: { origin: 'https://evil.example' },
      }),
      noParams,
    );
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toMatch(/Cross-site/);
  });
});

describe('creating a connection as a Firstup Super Admin', () => {
  it('creates the connection and its Activity Log entry together', async () => {
    const before = await counts();
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=202', {
        cookie: await sessionCookie(firstup),
        json: { ...body(202), end_date: '2099-12-31T00:00:00Z', contact_emails: ['Ops@Example.com', 'ops@example.com'] },
        headers: { origin: 'http://localhost:3000' },
      }),
      noParams,
    );
    expect(res.status).toBe(201);
    const { data: connection } = (await res.json()) as { data: Record<string, unknown> };
    expect(connection).toMatchObject({
      program_id: 202,
      kind: 'api',
      status: 'active',
      frequency: 'daily',
      start_date: today,
      end_date: '2099-12-31T00:00:00.000Z',
      contact_emails: ['ops@example.com'],
    });
    expect(JSON.stringify(connection)).not.toMatch(/secret|ciphertext/i);
    expect(await counts()).toEqual({ connections: before.connections + 1, audit: before.audit + 1 });
    const [entry] = await t.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, connection.id as string));
    expect(entry).toMatchObject({ action: 'connection.created', actorId: firstup.id, actorLabel: firstup.email, programId: 202 });
  });

  it('answers 422 naming each bad field, and writes nothing', async () => {
    const before = await counts();
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie: await sessionCookie(firstup),
        json: { kind: 'api', frequency: 'hourly', start_date: 'soon', contact_emails: ['not-an-email'] },
      }),
      noParams,
    );
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.code).toBe('validation_failed');
    const paths = (err.details as { fields: { path: string }[] }).fields.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['frequency', 'start_date', 'contact_emails.0']));
    expect(await counts()).toEqual(before);
  });

  it('answers 422 when the end date is not after the start date', async () => {
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie: await sessionCookie(firstup),
        json: { ...body(101), end_date: '2020-12-31T00:00:00Z' },
      }),
      noParams,
    );
    expect(res.status).toBe(422);
    expect((await errorOf(res)).message).toBe('End date: The end date must be after the start date (you entered “2020-12-31T00:00:00Z”).');
  });

  it('answers 415 for a body that is not JSON, 400 for malformed JSON and 413 for a body over 1 MB', async () => {
    const cookie = await sessionCookie(firstup);
    const form = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie,
        body: 'a=b',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      noParams,
    );
    expect(form.status).toBe(415);
    const broken = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie,
        body: '{"kind": "api",',
        headers: { 'content-type': 'application/json' },
      }),
      noParams,
    );
    expect(broken.status).toBe(400);
    const huge = JSON.stringify({ ...body(101), name: 'x'.repeat(1024 * 1024) });
    const big = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', { cookie, body: huge, headers: { 'content-type': 'application/json' } }),
      noParams,
    );
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe('payload_too_large');
  });

  it('answers 422, never 500, for NUL characters and absurd nesting, and stores unicode and injection strings verbatim', async () => {
    const res = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie: await sessionCookie(firstup),
        json: { ...body(101), name: "Robert'); DROP TABLE connections;-- 🚀 \u0000", frequency: "daily' OR 1=1" },
      }),
      noParams,
    );
    expect(res.status).toBe(422);
    const nul = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie: await sessionCookie(firstup),
        json: { ...body(101), name: 'nul \u0000 byte' },
      }),
      noParams,
    );
    expect(nul.status).toBe(422);
    expect((await errorOf(nul)).message).toBe('Invalid request body: name: must not contain NUL characters');
    const deep = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie: await sessionCookie(firstup),
        body: '['.repeat(5000) + ']'.repeat(5000),
        headers: { 'content-type': 'application/json' },
      }),
      noParams,
    );
    expect(deep.status).toBe(422);
    const sqlish = await createConnectionRoute(
      request('POST', '/api/v1/connections?program=101', {
        cookie: await sessionCookie(firstup),
        json: { ...body(101), name: "Robert'); DROP TABLE connections;-- 🚀 ünïcødé".slice(0, 120) },
      }),
      noParams,
    );
    expect(sqlish.status).toBe(201);
    expect(((await sqlish.json()) as { data: { name: string } }).data.name).toBe("Robert'); DROP TABLE connections;-- 🚀 ünïcødé");
  });
});

describe('errors the handler did not expect', () => {
  it('answers 500 with a generic message and the request id, never the error itself', async () => {
    const route = withAuth(async () => {
      throw new Error('connection string postgres://u:secret@db/x leaked');
    });
    const res = await route(request('GET', '/api/anything', { cookie: await sessionCookie(firstup) }), noParams);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret');
    const json = JSON.parse(text) as { error: { code: string; details?: unknown } };
    expect(json.error.code).toBe('internal');
    expect(json.error.details).toBeUndefined();
  });

  it('passes AppErrors through with their status and details', async () => {
    const route = withAuth(async () => {
      throw new AppError('gone', 'This export file has expired.', { expired_at: '2026-01-01' });
    });
    const res = await route(request('GET', '/api/anything', { cookie: await sessionCookie(firstup) }), noParams);
    expect(res.status).toBe(410);
    expect(await errorOf(res)).toEqual({ code: 'gone', message: 'This export file has expired.', details: { expired_at: '2026-01-01' } });
  });
});

describe('API tokens', () => {
  it('records when a token was last used, at most once a minute', async () => {
    const { token, row } = await createApiToken(t.db, {
      kind: 'client',
      apiClientId: clientId,
      programId: 101,
      scopes: ['data_exports.read'],
    });
    const route = withAuth(async (_req, { actor }) => Response.json({ programs: actor.programs }), {
      scope: 'data_exports.read',
      clientFeed: true,
    });
    const lastUsed = async () => (await t.db.select().from(apiTokens).where(eq(apiTokens.id, row.id)))[0].lastUsedAt?.getTime();

    setClock(new Date('2030-01-01T00:00:00Z'));
    const res = await route(request('GET', '/api/v1/exports', { token }), noParams);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ programs: [101] });
    expect(await lastUsed()).toBe(Date.parse('2030-01-01T00:00:00Z'));

    setClock(new Date('2030-01-01T00:00:30Z'));
    await route(request('GET', '/api/v1/exports', { token }), noParams);
    expect(await lastUsed()).toBe(Date.parse('2030-01-01T00:00:00Z'));

    setClock(new Date('2030-01-01T00:01:30Z'));
    await route(request('GET', '/api/v1/exports', { token }), noParams);
    expect(await lastUsed()).toBe(Date.parse('2030-01-01T00:01:30Z'));
    resetClock();
  });

  it("gives a personal token its owner's programs", async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: brand.id, scopes: ['data_exports.read'] });
    const route = withAuth(async (_req, { actor }) => Response.json({ programs: actor.programs }), { scope: 'data_exports.read' });
    const res = await route(request('GET', '/api/v1/exports', { token }), noParams);
    expect(await res.json()).toEqual({ programs: [101] });
  });
});

describe('the program switcher', () => {
  it('remembers a program the account can see', async () => {
    const res = await selectProgramRoute(
      request('POST', '/api/session/program', { cookie: await sessionCookie(brand), json: { program_id: 101 } }),
      noParams,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/^dde_program=101; Path=\/; .*HttpOnly; SameSite=Lax/);
  });

  it('answers 404 for a program the account cannot see', async () => {
    const res = await selectProgramRoute(
      request('POST', '/api/session/program', { cookie: await sessionCookie(brand), json: { program_id: 202 } }),
      noParams,
    );
    expect(res.status).toBe(404);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('is for browsers only: API tokens get 403', async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: firstup.id, scopes: ['data_exports.manage'] });
    const res = await selectProgramRoute(request('POST', '/api/session/program', { token, json: { program_id: 101 } }), noParams);
    expect(res.status).toBe(403);
  });
});

describe('the request context', () => {
  it('hands the handler the program the request names, the caller’s only one, or refuses before the handler runs', async () => {
    let ran = 0;
    const route = withAuth(
      async (_req, { program, requestedProgram }) => {
        ran++;
        const id: number = program; // 'required': always a number
        return Response.json({ program: id, requested: requestedProgram ?? null });
      },
      { program: 'required', clientFeed: true },
    );
    const { token } = await createApiToken(t.db, { kind: 'client', apiClientId: clientId, programId: 101, scopes: ['data_exports.read'] });
    const only = await route(request('GET', '/api/anything', { token }), noParams);
    expect(await only.json()).toEqual({ program: 101, requested: null });
    const named = await route(request('GET', '/api/anything?program=202', { cookie: await sessionCookie(firstup) }), noParams);
    expect(await named.json()).toEqual({ program: 202, requested: 202 });
    expect(ran).toBe(2);

    const several = await route(request('GET', '/api/anything', { cookie: await sessionCookie(firstup) }), noParams);
    expect(several.status).toBe(422);
    expect((await errorOf(several)).message).toBe(
      'Invalid query: program: this caller reaches more than one program; say which with ?program=<id>',
    );
    const bad = await route(request('GET', '/api/anything?program=abc', { cookie: await sessionCookie(firstup) }), noParams);
    expect(bad.status).toBe(422);
    expect((await errorOf(bad)).message).toBe('Program: must be a program id (a positive whole number) (you entered “abc”).');
    const other = await route(request('GET', '/api/anything?program=202', { token }), noParams);
    const missing = await route(request('GET', '/api/anything?program=999', { cookie: await sessionCookie(firstup) }), noParams);
    expect([other.status, missing.status]).toEqual([404, 404]);
    expect(ran).toBe(2);
  });

  it('checks an optional program only when one is named', async () => {
    const route = withAuth(async (_req, { program }) => Response.json({ program: program ?? null }), { program: 'optional' });
    const cookie = await sessionCookie(brand);
    expect(await (await route(request('GET', '/api/anything', { cookie }), noParams)).json()).toEqual({ program: null });
    expect(await (await route(request('GET', '/api/anything?program=101', { cookie }), noParams)).json()).toEqual({ program: 101 });
    expect((await route(request('GET', '/api/anything?program=202', { cookie }), noParams)).status).toBe(404);
  });

  it('gives a sessionOnly handler a signed-in user, so it needs no second check', async () => {
    const route = withAuth(
      async (_req, { actor }) => {
        const accountId: string = actor.accountId; // a UserActor: never null
        return Response.json({ kind: actor.kind, accountId, email: actor.email });
      },
      { sessionOnly: true },
    );
    const res = await route(request('GET', '/api/anything', { cookie: await sessionCookie(brand) }), noParams);
    expect(await res.json()).toEqual({ kind: 'user', accountId: brand.id, email: brand.email });
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: brand.id, scopes: ['data_exports.read'] });
    expect((await route(request('GET', '/api/anything', { token }), noParams)).status).toBe(403);

    // Without sessionOnly the actor may be a token (whose accountId can be null): the types say so.
    withAuth(async (_req, { actor }) => {
      // @ts-expect-error -- a token actor's accountId is string | null
      const accountId: string = actor.accountId;
      return Response.json({ accountId });
    });
  });
});
