// GET /api/v1/schemas/{type}: the typed schema a loader or a warehouse table is built from, served
// with the schema_version to whoever may read export files, through the real route handler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as schemaRoute } from '@/pages/api/v1/schemas/[type]';
import { closeDatabase } from '@/db/client';
import { createApiToken } from '@/lib/auth/tokens';
import { SCHEMA_VERSION } from '@/lib/exports/columns';
import { fileSchema } from '@/lib/exports/schema';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call, clientToken, type ErrorBody } from './helpers/export-api';

const A = 4301;
let t: TestDatabase;
let token: string;

const get = (type: string, opts: Parameters<typeof request>[2] = {}, query = '') =>
  call(schemaRoute, request('GET', `/api/v1/schemas/${type}${query}`, opts), { type });

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  await createPrograms(t.db, [{ id: A, name: 'Acme' }]);
  token = (await clientToken(t, A)).token;
});

afterAll(async () => {
  await closeDatabase();
  await t?.drop();
});

describe('GET /api/v1/schemas/{type}', () => {
  it('answers each type’s typed columns and the schema version, plural or singular', async () => {
    for (const [word, type] of [
      ['activities', 'activity'],
      ['activity', 'activity'],
      ['users', 'user'],
      ['campaigns', 'campaign'],
    ] as const) {
      const res = await get(word, { token });
      expect(res.status, word).toBe(200);
      const body = (await res.json()) as { data: ReturnType<typeof fileSchema> };
      expect(body.data.schema_version).toBe(SCHEMA_VERSION);
      expect(body.data).toEqual(fileSchema(type));
    }
    const res = await get('campaigns', { token });
    const { data } = (await res.json()) as { data: ReturnType<typeof fileSchema> };
    expect(data.columns.find((c) => c.name === 'topic_id')).toMatchObject({
      header: 'Topic ID',
      kind: 'string_list',
      parquet_type: 'LIST<STRING>',
      nullable: false,
    });
  });

  it('answers 304 to its own ETag', async () => {
    const first = await get('users', { token });
    const etag = first.headers.get('etag')!;
    expect((await get('users', { token, headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('answers 404 naming an unknown type, 401 without a token, 403 without the read scope', async () => {
    const unknown = await get('orders', { token });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error.message).toMatch(/no export type "orders"/);
    expect((await get('users')).status).toBe(401);
    const { client } = await clientToken(t, A);
    const scopeless = await createApiToken(t.db, { kind: 'client', apiClientId: client.id, programId: A, scopes: [] });
    expect((await get('users', { token: scopeless.token })).status).toBe(403);
  });

  it('answers the same whatever program or connection the query names: it is about none', async () => {
    const plain = await (await get('users', { token })).json();
    const other = '00000000-0000-4000-8000-0000000000ff';
    for (const query of [`?program=${A}`, '?program=4399', `?program=4399&connection=${other}`]) {
      const res = await get('users', { token }, query);
      expect(res.status, query).toBe(200);
      expect(await res.json()).toEqual(plain);
    }
  });

  it('answers a signed-in brand admin', async () => {
    const admin = await createAccount(t.db, { role: 'brand_super_admin', programIds: [A] });
    expect((await get('users', { cookie: await sessionCookie(admin) })).status).toBe(200);
  });
});
