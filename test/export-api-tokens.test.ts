// API access: API clients and the client-credentials token endpoint, personal access tokens, the
// CLI for both, and the promises around them — secrets shown once and stored hashed, revocation at
// once, tokens that never exceed their owner, last use recorded.
import { spawn } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as tokenRoute } from '@/app/api/oauth/token/route';
import { DELETE as revokeClientRoute } from '@/app/api/v1/api-clients/[client_id]/route';
import { GET as listClientsRoute, POST as createClientRoute } from '@/app/api/v1/api-clients/route';
import { GET as latestRoute } from '@/pages/api/v1/data_exports/[type]/latest';
import { DELETE as revokeTokenRoute } from '@/app/api/v1/tokens/[token_id]/route';
import { GET as listTokensRoute, POST as createTokenRoute } from '@/app/api/v1/tokens/route';
import { closeDatabase } from '@/db/client';
import { apiClients, apiTokens, auditLog, type Account } from '@/db/schema';
import { CLIENT_TOKEN_TTL_SECONDS } from '@/lib/auth/api-clients';
import { TOKEN_CACHE_TTL_MS } from '@/lib/auth/token-cache';
import { hashToken } from '@/lib/auth/tokens';
import { resetClock, setClock } from '@/lib/clock';
import { env } from '@/lib/env';
import { setApiRateLimiter } from '@/lib/http/rate-limit';
import { run as clientsCli } from '@/scripts/commands/clients';
import { run as tokensCli } from '@/scripts/commands/tokens';
import { CliError } from '@/scripts/commands/args';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call, feedConnection, type ErrorBody } from './helpers/export-api';
import { consoleOutput } from './helpers/console';

const A = 4401;
const B = 4402;

let t: TestDatabase;
let firstup: Account;
let brand: Account;
let adminCookie: string;
let brandCookie: string;

type Created = { data: { id: string; client_id: string; client_secret: string; program_id: number; scopes: string[]; status: string } };
type TokenBody = { access_token: string; token_type: string; expires_in: number; scope: string };
type OAuthBody = { error: string; error_description: string; request_id: string };

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function tokenRequest(body: string, headers: Record<string, string> = FORM): Promise<Response> {
  return call(tokenRoute, request('POST', '/api/oauth/token', { body, headers }));
}

function latest(token: string): Promise<Response> {
  return call(latestRoute, request('GET', '/api/v1/data_exports/activities/latest', { token }), { type: 'activities' });
}

async function createClient(programId: number, scopes = ['data_exports.read']): Promise<Created['data']> {
  const res = await call(
    createClientRoute,
    request('POST', '/api/v1/api-clients', { cookie: adminCookie, json: { program_id: programId, name: 'Warehouse loader', scopes } }),
  );
  expect(res.status).toBe(201);
  return ((await res.json()) as Created).data;
}

const output = consoleOutput;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  setApiRateLimiter(null);
  await createPrograms(t.db, [
    { id: A, name: 'Acme' },
    { id: B, name: 'Globex' },
  ]);
  // Each program has one API connection: a client created without naming one reads it.
  await feedConnection(t, A);
  await feedConnection(t, B);
  firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
  brand = await createAccount(t.db, { role: 'brand_super_admin', programIds: [A] });
  adminCookie = await sessionCookie(firstup);
  brandCookie = await sessionCookie(brand);
});

afterAll(async () => {
  resetClock();
  setApiRateLimiter(undefined);
  await closeDatabase();
  await t?.drop();
});

describe('API clients', () => {
  it('are created by a Firstup Super Admin with the secret shown once and stored only as a hash', async () => {
    const client = await createClient(A);
    expect(client).toMatchObject({ program_id: A, scopes: ['data_exports.read'], status: 'active' });
    expect(client.client_id).toMatch(/^ddec_[0-9a-f]{24}$/);
    expect(client.client_secret).toMatch(/^ddecs_[A-Za-z0-9_-]{43}$/);
    const [row] = await t.db.select().from(apiClients).where(eq(apiClients.clientId, client.client_id));
    expect(row.secretHash).toBe(hashToken(client.client_secret));
    expect(JSON.stringify(row)).not.toContain(client.client_secret);

    const list = await call(listClientsRoute, request('GET', `/api/v1/api-clients?program=${A}`, { cookie: adminCookie }));
    const text = await list.text();
    expect(list.status).toBe(200);
    expect(text).toContain(client.client_id);
    expect(text).not.toContain(client.client_secret);
    expect(text).not.toContain(row.secretHash);

    const [entry] = await t.db.select().from(auditLog).where(eq(auditLog.targetId, client.id));
    expect(entry).toMatchObject({ action: 'api_client.created', programId: A, actorId: firstup.id });
    expect(JSON.stringify(entry)).not.toContain(client.client_secret);
  });

  it('cannot be managed by a Brand Super Admin or with an API token', async () => {
    const res = await call(
      createClientRoute,
      request('POST', '/api/v1/api-clients', { cookie: brandCookie, json: { program_id: A, name: 'x' } }),
    );
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorBody).error.message).toMatch(/api_access.manage/);
    const client = await createClient(A);
    const { access_token } = (await (
      await tokenRequest(form({ grant_type: 'client_credentials' }), {
        ...FORM,
        authorization: basic(client.client_id, client.client_secret),
      })
    ).json()) as TokenBody;
    const byToken = await call(listClientsRoute, request('GET', `/api/v1/api-clients?program=${A}`, { token: access_token }));
    expect(byToken.status).toBe(404);
  });

  it('answers 422 for bad input and 404 for an unknown program', async () => {
    const bad = await call(
      createClientRoute,
      request('POST', '/api/v1/api-clients', { cookie: adminCookie, json: { program_id: A, name: '', scopes: ['everything'] } }),
    );
    expect(bad.status).toBe(422);
    const fields = (((await bad.json()) as ErrorBody).error.details as { fields: { path: string }[] }).fields.map((f) => f.path);
    expect(fields).toEqual(expect.arrayContaining(['name', 'scopes.0']));
    const missing = await call(
      createClientRoute,
      request('POST', '/api/v1/api-clients', { cookie: adminCookie, json: { program_id: 987654, name: 'x' } }),
    );
    expect(missing.status).toBe(404);
  });
});

describe('POST /api/oauth/token', () => {
  it('issues a bearer token for HTTP Basic client credentials, scoped to the client’s program', async () => {
    const client = await createClient(A);
    const res = await tokenRequest(form({ grant_type: 'client_credentials' }), {
      ...FORM,
      authorization: basic(client.client_id, client.client_secret),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as TokenBody;
    expect(body).toEqual({
      access_token: expect.stringMatching(/^dde_/),
      token_type: 'Bearer',
      expires_in: CLIENT_TOKEN_TTL_SECONDS,
      scope: 'data_exports.read',
    });
    const [row] = await t.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.tokenHash, hashToken(body.access_token)));
    expect(row).toMatchObject({ kind: 'client', programId: A, scopes: ['data_exports.read'] });
    expect(row.expiresAt!.getTime() - row.createdAt.getTime()).toBeGreaterThan((CLIENT_TOKEN_TTL_SECONDS - 5) * 1000);
    expect((await latest(body.access_token)).status).toBe(200);
    const [clientRow] = await t.db.select().from(apiClients).where(eq(apiClients.clientId, client.client_id));
    expect(clientRow.lastUsedAt).toBeInstanceOf(Date);
  });

  it('creates clients that read exports only: the management API takes a personal access token', async () => {
    const res = await call(
      createClientRoute,
      request('POST', '/api/v1/api-clients', {
        cookie: adminCookie,
        json: { program_id: A, name: 'Loader', scopes: ['data_exports.read', 'data_exports.manage'] },
      }),
    );
    expect(res.status).toBe(422);
    const err = ((await res.json()) as ErrorBody).error;
    // The message names the field as the form does; the details keep its path.
    expect(err.message).toContain('Scopes');
    expect(err.message).toContain("an API client reads its connections' files only");
    expect((err.details as { fields: { path: string }[] }).fields.map((f) => f.path)).toContain('scopes.1');
  });

  it('accepts the credentials in the form body (and JSON), and narrows scopes on request', async () => {
    const client = await createClient(A);
    const res = await tokenRequest(
      form({
        grant_type: 'client_credentials',
        client_id: client.client_id,
        client_secret: client.client_secret,
        scope: 'data_exports.read',
      }),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as TokenBody).scope).toBe('data_exports.read');
    const json = await tokenRequest(
      JSON.stringify({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
      { 'content-type': 'application/json' },
    );
    expect(((await json.json()) as TokenBody).scope).toBe('data_exports.read');
  });

  it('answers the OAuth error shape: invalid_client 401, unsupported_grant_type, invalid_scope and invalid_request 400', async () => {
    const client = await createClient(A);
    const wrong = await tokenRequest(form({ grant_type: 'client_credentials' }), {
      ...FORM,
      authorization: basic(client.client_id, 'ddecs_wrong'),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Basic');
    const body = (await wrong.json()) as OAuthBody;
    expect(body).toEqual({ error: 'invalid_client', error_description: expect.any(String), request_id: wrong.headers.get('x-request-id') });
    const unknown = await tokenRequest(form({ grant_type: 'client_credentials', client_id: 'ddec_nope', client_secret: 'x' }));
    expect(((await unknown.json()) as OAuthBody).error_description).toBe(body.error_description);
    const none = await tokenRequest(form({ grant_type: 'client_credentials' }));
    expect(none.status).toBe(401);

    const auth = { ...FORM, authorization: basic(client.client_id, client.client_secret) };
    const grant = await tokenRequest(form({ grant_type: 'password' }), auth);
    expect([grant.status, ((await grant.json()) as OAuthBody).error]).toEqual([400, 'unsupported_grant_type']);
    const scope = await tokenRequest(form({ grant_type: 'client_credentials', scope: 'data_exports.manage' }), auth);
    expect([scope.status, ((await scope.json()) as OAuthBody).error]).toEqual([400, 'invalid_scope']);
    const strange = await tokenRequest(form({ grant_type: 'client_credentials', scope: 'admin' }), auth);
    expect(((await strange.json()) as OAuthBody).error).toBe('invalid_scope');
    const both = await tokenRequest(
      form({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }),
      auth,
    );
    expect([both.status, ((await both.json()) as OAuthBody).error]).toEqual([400, 'invalid_request']);
    const missing = await tokenRequest(form({}), auth);
    expect(((await missing.json()) as OAuthBody).error).toBe('invalid_request');
    const text = await tokenRequest('grant_type=client_credentials', { ...auth, 'content-type': 'text/plain' });
    expect(((await text.json()) as OAuthBody).error).toBe('invalid_request');
  });

  it('refuses a revoked client, whose tokens stop working at once', async () => {
    const client = await createClient(A);
    const auth = { ...FORM, authorization: basic(client.client_id, client.client_secret) };
    const { access_token } = (await (await tokenRequest(form({ grant_type: 'client_credentials' }), auth)).json()) as TokenBody;
    expect((await latest(access_token)).status).toBe(200);
    const revoke = await call(
      revokeClientRoute,
      request('DELETE', `/api/v1/api-clients/${client.client_id}?program=${A}`, { cookie: adminCookie }),
      { client_id: client.client_id },
    );
    expect(revoke.status).toBe(200);
    expect(((await revoke.json()) as { data: { status: string } }).data.status).toBe('revoked');
    expect((await latest(access_token)).status).toBe(401);
    expect((await tokenRequest(form({ grant_type: 'client_credentials' }), auth)).status).toBe(401);
    // Another program cannot revoke (or learn of) the client.
    const other = await createClient(B);
    const cross = await call(
      revokeClientRoute,
      request('DELETE', `/api/v1/api-clients/${other.client_id}?program=${A}`, { cookie: adminCookie }),
      { client_id: other.client_id },
    );
    expect(cross.status).toBe(404);
  });

  it('stops accepting an issued token when it expires', async () => {
    const client = await createClient(A);
    const { access_token } = (await (
      await tokenRequest(form({ grant_type: 'client_credentials' }), {
        ...FORM,
        authorization: basic(client.client_id, client.client_secret),
      })
    ).json()) as TokenBody;
    expect((await latest(access_token)).status).toBe(200); // now cached
    setClock(new Date(Date.now() + CLIENT_TOKEN_TTL_SECONDS * 1000 + 1000));
    try {
      expect((await latest(access_token)).status).toBe(401);
    } finally {
      resetClock();
    }
  });
});

describe('personal access tokens', () => {
  it('are created by a signed-in user, shown once, and act with that user’s programs', async () => {
    const res = await call(
      createTokenRoute,
      request('POST', '/api/v1/tokens', { cookie: brandCookie, json: { name: 'My notebook', expires_in_days: 30 } }),
    );
    expect(res.status).toBe(201);
    const { data } = (await res.json()) as { data: { id: string; token: string; scopes: string[]; expires_at: string; status: string } };
    expect(data).toMatchObject({ scopes: ['data_exports.read'], status: 'active' });
    expect(Date.parse(data.expires_at) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const [row] = await t.db.select().from(apiTokens).where(eq(apiTokens.id, data.id));
    expect(row).toMatchObject({ kind: 'personal', accountId: brand.id, programId: null, tokenHash: hashToken(data.token) });

    expect((await latest(data.token)).status).toBe(200);
    const other = await call(latestRoute, request('GET', `/api/v1/data_exports/activities/latest?program=${B}`, { token: data.token }), {
      type: 'activities',
    });
    expect(other.status).toBe(404);

    const list = await call(listTokensRoute, request('GET', '/api/v1/tokens', { cookie: brandCookie }));
    const text = await list.text();
    expect(text).toContain(data.id);
    expect(text).not.toContain(data.token);
    expect(text).not.toContain(row.tokenHash);
    // Another user sees none of them.
    const mine = await call(listTokensRoute, request('GET', '/api/v1/tokens', { cookie: adminCookie }));
    expect(await mine.text()).not.toContain(data.id);
  });

  it('are revoked by their owner (not by anyone else) and stop working at once', async () => {
    const res = await call(
      createTokenRoute,
      request('POST', '/api/v1/tokens', {
        cookie: brandCookie,
        json: { name: 'Short-lived', scopes: ['data_exports.read'], expires_in_days: null },
      }),
    );
    const { data } = (await res.json()) as { data: { id: string; token: string; expires_at: string | null } };
    expect(data.expires_at).toBeNull();
    expect((await latest(data.token)).status).toBe(200);
    const notMine = await call(revokeTokenRoute, request('DELETE', `/api/v1/tokens/${data.id}`, { cookie: adminCookie }), {
      token_id: data.id,
    });
    expect(notMine.status).toBe(404);
    const revoked = await call(revokeTokenRoute, request('DELETE', `/api/v1/tokens/${data.id}`, { cookie: brandCookie }), {
      token_id: data.id,
    });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { data: { status: string } }).data.status).toBe('revoked');
    expect((await latest(data.token)).status).toBe(401);
    const again = await call(revokeTokenRoute, request('DELETE', `/api/v1/tokens/${data.id}`, { cookie: brandCookie }), {
      token_id: data.id,
    });
    expect(again.status).toBe(404);
  });

  it('stay within their owner’s role: a Brand Super Admin’s read exports, asking for more creates nothing', async () => {
    const before = await t.db.select().from(apiTokens).where(eq(apiTokens.accountId, brand.id));
    const res = await call(
      createTokenRoute,
      request('POST', '/api/v1/tokens', {
        cookie: brandCookie,
        json: { name: 'Manage', scopes: ['data_exports.read', 'data_exports.manage'] },
      }),
    );
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { message: string; details: { fields: { path: string }[] } } };
    expect(body.error.message).toBe(
      'Scopes: “data_exports.manage” is more than a Brand Super Admin may do; their personal tokens can have data_exports.read.',
    );
    expect(body.error.details.fields[0].path).toBe('scopes.1');
    expect(await t.db.select().from(apiTokens).where(eq(apiTokens.accountId, brand.id))).toHaveLength(before.length);
  });

  it('cannot be minted with a token, and never exceed their owner', async () => {
    const res = await call(
      createTokenRoute,
      request('POST', '/api/v1/tokens', { cookie: adminCookie, json: { name: 'Manage', scopes: ['data_exports.manage'] } }),
    );
    expect(res.status).toBe(201);
    const { data } = (await res.json()) as { data: { token: string } };
    const mint = await call(createTokenRoute, request('POST', '/api/v1/tokens', { token: data.token, json: { name: 'child' } }));
    expect(mint.status).toBe(403);
    const manage = await call(
      createClientRoute,
      request('POST', '/api/v1/api-clients', { token: data.token, json: { program_id: A, name: 'x' } }),
    );
    expect(manage.status).toBe(403);
  });

  it('answers 422 for bad input', async () => {
    const res = await call(
      createTokenRoute,
      request('POST', '/api/v1/tokens', { cookie: brandCookie, json: { name: 'x', expires_in_days: 0, extra: 1 } }),
    );
    expect(res.status).toBe(422);
  });
});

describe('revocation by another process', () => {
  it(`takes effect within the token cache's ${TOKEN_CACHE_TTL_MS / 1000} s`, async () => {
    const res = await call(createTokenRoute, request('POST', '/api/v1/tokens', { cookie: adminCookie, json: { name: 'elsewhere' } }));
    const { data } = (await res.json()) as { data: { id: string; token: string } };
    const call2 = () =>
      call(latestRoute, request('GET', `/api/v1/data_exports/users/latest?program=${A}`, { token: data.token }), { type: 'users' });
    const start = new Date();
    setClock(start);
    try {
      expect((await call2()).status).toBe(200);
      // The CLI (another process) revokes it directly in the database.
      await t.db.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, data.id));
      setClock(new Date(start.getTime() + TOKEN_CACHE_TTL_MS));
      expect((await call2()).status).toBe(401);
    } finally {
      resetClock();
    }
  });
});

describe('the CLI', () => {
  it('creates, lists and revokes API clients, printing the secret only at creation', async () => {
    const created = await output(clientsCli, [
      'create',
      '--program',
      String(A),
      '--name',
      'Snowflake loader',
      '--scope',
      'data_exports.read',
    ]);
    const clientId = /Client id:\s+(\S+)/.exec(created)![1];
    const secret = /Client secret:\s+(\S+)/.exec(created)![1];
    expect(clientId).toMatch(/^ddec_/);
    const [row] = await t.db.select().from(apiClients).where(eq(apiClients.clientId, clientId));
    expect(row).toMatchObject({ programId: A, name: 'Snowflake loader', secretHash: hashToken(secret) });
    const [entry] = await t.db.select().from(auditLog).where(eq(auditLog.targetId, row.id));
    expect(entry).toMatchObject({ action: 'api_client.created', actorLabel: 'dde CLI', actorId: null });

    const listed = await output(clientsCli, ['list', '--program', String(A)]);
    expect(listed).toContain(clientId);
    expect(listed).not.toContain(secret);

    const token = await tokenRequest(form({ grant_type: 'client_credentials' }), { ...FORM, authorization: basic(clientId, secret) });
    expect(token.status).toBe(200);

    expect(await output(clientsCli, ['revoke', '--program', String(A), '--client-id', clientId])).toContain(
      `Revoked API client ${clientId}`,
    );
    await expect(output(clientsCli, ['revoke', '--program', String(B), '--client-id', clientId])).rejects.toThrow(CliError);
    await expect(output(clientsCli, ['create', '--program', '999999', '--name', 'x'])).rejects.toThrow(/Program 999999 was not found/);
    await expect(output(clientsCli, ['create', '--program', 'abc', '--name', 'x'])).rejects.toThrow(
      /--program: must be a numeric program id/,
    );
    await expect(output(clientsCli, ['create', '--program', String(A), '--name', 'x', '--scope', 'data_exports.manage'])).rejects.toThrow(
      /an API client reads its connections' files only/,
    );
  });

  it('creates, lists and revokes personal tokens, printing the token only at creation', async () => {
    const created = await output(tokensCli, ['create', '--email', brand.email, '--name', 'cron job', '--expires-in-days', '7']);
    const token = /Token: (\S+)/.exec(created)![1];
    expect((await latest(token)).status).toBe(200);
    const id = /Created token ([0-9a-f-]{36})/.exec(created)![1];
    const listed = await output(tokensCli, ['list', '--email', brand.email]);
    expect(listed).toContain(id);
    expect(listed).toContain('cron job');
    expect(listed).not.toContain(token);
    expect(await output(tokensCli, ['revoke', '--id', id])).toContain(`Revoked token ${id}`);
    await expect(output(tokensCli, ['revoke', '--id', id])).rejects.toThrow(/no active personal token/);
    await expect(output(tokensCli, ['create', '--email', 'nobody@example.com'])).rejects.toThrow(/no account/);
    await expect(output(tokensCli, ['create', '--email', brand.email, '--no-expiry', '--expires-in-days', '3'])).rejects.toThrow(
      /not both/,
    );
  });

  it('is registered in the real `dde` command', async () => {
    const e = env();
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'clients', 'list', '--program', String(B)], {
        env: {
          ...process.env,
          DATABASE_URL: t.url,
          NEXTAUTH_SECRET: e.nextAuthSecret,
          DDE_ENCRYPTION_KEY: e.encryptionKey.toString('hex'),
          LOG_LEVEL: 'silent',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.on('exit', (code) => resolve({ code, stdout }));
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/CLIENT ID\s+PROGRAM/);
  });
});
