// What the admin pages' filters and downloads promise, against real PostgreSQL: a connection's
// folders come from the server already filtered (so paging never hides one behind other
// connections' folders), another program's connection is not found; the event history and the
// Activity Log download as CSV with the page's filters, every matching row streamed in batches,
// formula cells defused and no secret in any cell; and a Brand Super Admin reads the API access
// lists but is refused every write on them.
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as activityCsvRoute } from '@/app/api/v1/activity-log.csv/route';
import { GET as activityRoute } from '@/app/api/v1/activity-log/route';
import { DELETE as revokeClientRoute } from '@/app/api/v1/api-clients/[client_id]/route';
import { GET as listClientsRoute, POST as createClientRoute } from '@/app/api/v1/api-clients/route';
import { DELETE as deleteConnectionRoute } from '@/app/api/v1/connections/[id]/route';
import { GET as runsCsvRoute } from '@/app/api/v1/connections/[id]/runs.csv/route';
import { GET as runsRoute } from '@/app/api/v1/connections/[id]/runs/route';
import { POST as createConnectionRoute } from '@/app/api/v1/connections/route';
import { GET as foldersRoute } from '@/pages/api/v1/folders/index';
import { GET as openapiRoute } from '@/app/api/v1/openapi.json/route';
import { GET as listTokensRoute } from '@/app/api/v1/tokens/route';
import { closeDatabase } from '@/db/client';
import { recordAudit } from '@/db/queries/audit';
import { apiClients, auditLog, deliveries, exportFiles, exportRuns, type Account } from '@/db/schema';
import { createApiToken } from '@/lib/auth/tokens';
import type { RouteHandler } from '@/lib/auth/with-auth';
import { ACTIVITY_CSV_COLUMNS, RUNS_CSV_COLUMNS } from '@/lib/management/schemas';
import { CSV_BATCH } from '@/lib/management/csv';
import { sql } from 'drizzle-orm';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { csvRecords } from './helpers/csv';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let firstup: Account;
let brand: Account;
let firstupCookie: string;
let brandCookie: string;

type Json = Record<string, unknown>;
type Folder = { run_id: string; connection_id: string | null; export_type: string; expired: boolean };
type Page<T> = { data: T[]; has_more: boolean; next_cursor: string | null };

/** A route called as the pages call it, the answer checked against the API's documented schemas. */
async function call(
  handler: RouteHandler,
  path: string,
  opts: { cookie?: string; token?: string; params?: Record<string, string>; method?: string; json?: unknown } = {},
) {
  const method = opts.method ?? 'GET';
  const res = await handler(
    request(method, path, { cookie: opts.token ? undefined : (opts.cookie ?? firstupCookie), token: opts.token, json: opts.json }),
    {
      params: Promise.resolve(opts.params ?? {}),
    },
  );
  await checkAnswer(method, path, res);
  return res;
}
const json = async <T = Json>(res: Response) => (await res.json()) as T;
const errorOf = async (res: Response) => (await json<{ error: { code: string; message: string } }>(res)).error;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BASE = Date.UTC(2026, 8, 1);

const conn: Record<'nightly' | 'formula' | 'busy' | 'globex', string> = { nightly: '', formula: '', busy: '', globex: '' };
/** Each connection's folders (run ids), newest first, as seeded. */
const folderRuns: Record<string, string[]> = {};
const FORMULA_NAME = '=HYPERLINK("http://evil.example","open me")';

async function createConnection(program: number, name: string): Promise<string> {
  const res = await call(createConnectionRoute, `/api/v1/connections?program=${program}`, {
    method: 'POST',
    json: {
      kind: 'api',
      name,
      frequency: 'daily',
      start_date: `${new Date().toISOString().slice(0, 10)}T00:00:00Z`,
      contact_emails: ['data@example.com'],
    },
  });
  expect(res.status).toBe(201);
  return (await json<{ data: { id: string } }>(res)).data.id;
}

/** A run of a connection with a data file and a manifest, created `at` (its folder's place in the list). */
async function seedFolder(
  connectionId: string,
  programId: number,
  at: number,
  opts: { exportType?: 'incremental' | 'historical'; expired?: boolean } = {},
) {
  const exportType = opts.exportType ?? 'incremental';
  const windowStart = new Date(at - DAY);
  const windowEnd = new Date(at);
  const [run] = await t.db
    .insert(exportRuns)
    .values({
      connectionId,
      programId,
      exportType,
      windowStart,
      windowEnd,
      status: 'available',
      rowsTotal: 3,
      bytesTotal: 30,
      filesCount: 2,
      finishedAt: windowEnd,
    })
    .returning();
  const expiresAt = new Date(opts.expired ? Date.now() - DAY : Date.now() + 5 * DAY);
  const file = {
    runId: run.id,
    programId,
    exportType,
    windowStart,
    windowEnd,
    format: 'csv' as const,
    createdAt: new Date(at),
    expiresAt,
    expired: !!opts.expired,
  };
  await t.db.insert(exportFiles).values([
    {
      ...file,
      fileType: 'activity',
      name: `${run.id}-activity.csv.gz`,
      storageKey: `k/${run.id}/a`,
      rows: 3,
      bytes: 20,
      sha256: 'a'.repeat(64),
      compression: 'gzip',
    },
    {
      ...file,
      fileType: 'manifest',
      name: `${run.id}-manifest.json`,
      storageKey: `k/${run.id}/m`,
      rows: 0,
      bytes: 10,
      sha256: 'b'.repeat(64),
      compression: 'none',
    },
  ]);
  (folderRuns[connectionId] ??= []).unshift(run.id);
  return run.id;
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
  firstupCookie = await sessionCookie(firstup);
  brandCookie = await sessionCookie(brand);
  conn.nightly = await createConnection(101, 'Nightly API');
  conn.formula = await createConnection(101, FORMULA_NAME);
  conn.busy = await createConnection(101, 'Busy API');
  conn.globex = await createConnection(202, 'Globex API');

  // The nightly connection's four folders are older than the busy connection's sixty: in the
  // program's list they come only after the first page of fifty.
  await seedFolder(conn.nightly, 101, BASE + 1 * HOUR);
  await seedFolder(conn.nightly, 101, BASE + 2 * HOUR, { exportType: 'historical' });
  await seedFolder(conn.nightly, 101, BASE + 3 * HOUR, { expired: true });
  await seedFolder(conn.nightly, 101, BASE + 4 * HOUR);
  for (let i = 0; i < 60; i++) await seedFolder(conn.busy, 101, BASE + DAY + i * HOUR);
  await seedFolder(conn.globex, 202, BASE + 5 * DAY);

  // The formula connection's event history: more runs than one CSV batch, half of them failed.
  const runs = CSV_BATCH + 150;
  await t.db.execute(sql`
    insert into export_runs (connection_id, program_id, export_type, window_start, window_end, status, rows_total, bytes_total, error_code, error_message, finished_at)
    select ${conn.formula}::uuid, 101, 'incremental',
      ${new Date(BASE).toISOString()}::timestamptz + (g * interval '4 hours'),
      ${new Date(BASE).toISOString()}::timestamptz + ((g + 1) * interval '4 hours'),
      case when g % 2 = 0 then 'delivered' else 'failed' end, g, g * 10,
      case when g % 2 = 0 then null else 'auth_failed' end,
      case when g % 2 = 0 then null else '-rejected, "twice", by the server' end,
      ${new Date(BASE).toISOString()}::timestamptz + ((g + 1) * interval '4 hours')
    from generate_series(0, ${runs - 1}) g`);
  const [failed] = await t.db.execute<{ id: string; window_start: string }>(
    sql`select id, window_start from export_runs where connection_id = ${conn.formula}::uuid and status = 'failed' order by window_start desc limit 1`,
  );
  await t.db.insert(deliveries).values({
    runId: failed.id,
    connectionId: conn.formula,
    programId: 101,
    destination: 'Export API',
    attempt: 1,
    status: 'failed',
    errorCode: 'auth_failed',
    errorMessage: '@server refused the sign-in',
    retryable: false,
    startedAt: new Date(BASE + 10 * DAY),
    finishedAt: new Date(BASE + 10 * DAY + 60_000),
  });
  // An entry whose details name a secret-sounding field: the download blanks it.
  await recordAudit(t.db, {
    programId: 101,
    actorId: firstup.id,
    actorLabel: firstup.email,
    action: 'connection.updated',
    targetType: 'connection',
    targetId: conn.nightly,
    before: { name: 'Nightly' },
    after: { name: 'Nightly API' },
    details: { sftp_password: 'hunter2-do-not-show', note: 'rotated' },
  });
}, 60_000);

afterAll(async () => {
  await closeDatabase();
  await t?.drop();
});

describe('folders of one connection', () => {
  async function allPages(query: string, opts: { cookie?: string } = {}) {
    const seen: Folder[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(foldersRoute, `/api/v1/folders?program=101&${query}${cursor ? `&cursor=${cursor}` : ''}`, opts);
      expect(res.status).toBe(200);
      const page = await json<Page<Folder>>(res);
      seen.push(...page.data);
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    return { seen, pages };
  }

  it('lists only that connection’s folders, every one of them, page by page, even behind sixty newer folders of another', async () => {
    // The program's first page holds none of the nightly folders: filtering it in the browser showed nothing.
    const firstPage = await json<Page<Folder>>(await call(foldersRoute, '/api/v1/folders?program=101&limit=50'));
    expect(firstPage.data.filter((f) => f.connection_id === conn.nightly)).toEqual([]);

    const nightly = folderRuns[conn.nightly].filter((_, i) => i !== 1); // the expired one is left out by default
    const { seen, pages } = await allPages(`connection=${conn.nightly}&limit=1`);
    expect(seen.map((f) => f.run_id)).toEqual(nightly);
    expect(pages).toBe(3);
    expect(new Set(seen.map((f) => f.connection_id))).toEqual(new Set([conn.nightly]));

    const busy = await allPages(`connection=${conn.busy}&limit=25`);
    expect(busy.seen.map((f) => f.run_id)).toEqual(folderRuns[conn.busy]);
    expect(busy.pages).toBe(3);
  });

  it('filters by export type and shows expired folders on request, on the server', async () => {
    const historical = await allPages(`connection=${conn.nightly}&export_type=historical`);
    expect(historical.seen.map((f) => [f.run_id, f.export_type])).toEqual([[folderRuns[conn.nightly][2], 'historical']]);
    const withExpired = await allPages(`connection=${conn.nightly}&include_expired=true&limit=2`);
    expect(withExpired.seen.map((f) => f.run_id)).toEqual(folderRuns[conn.nightly]);
    expect(withExpired.seen.filter((f) => f.expired).map((f) => f.run_id)).toEqual([folderRuns[conn.nightly][1]]);
  });

  it('answers 404 for another program’s connection, a deleted or unknown one, and 422 for a malformed id', async () => {
    const deleted = await createConnection(101, 'Short-lived API');
    await seedFolder(deleted, 101, BASE + 3 * DAY);
    const del = await call(deleteConnectionRoute, `/api/v1/connections/${deleted}?program=101`, {
      method: 'DELETE',
      params: { id: deleted },
    });
    expect(del.status).toBe(200);
    for (const [id, cookie] of [
      [conn.globex, firstupCookie],
      [conn.globex, brandCookie],
      [deleted, firstupCookie],
      ['00000000-0000-4000-8000-000000000000', firstupCookie],
    ]) {
      const res = await call(foldersRoute, `/api/v1/folders?program=101&connection=${id}`, { cookie });
      expect(res.status, id).toBe(404);
      expect((await errorOf(res)).message).toBe(`Connection ${id} was not found.`);
    }
    // The Globex folder is not reachable through program 101 by any spelling.
    const upper = await call(foldersRoute, `/api/v1/folders?program=101&connection=${conn.globex.toUpperCase()}`);
    expect(upper.status).toBe(404);
    const bad = await call(foldersRoute, '/api/v1/folders?program=101&connection=nope');
    expect(bad.status).toBe(422);
    expect((await errorOf(bad)).message).toBe('Connection: must be a connection id (a UUID) (you entered “nope”).');
    const badType = await call(foldersRoute, `/api/v1/folders?program=101&connection=${conn.nightly}&export_type=monthly`);
    expect(badType.status).toBe(422);
    // A Brand Super Admin reads their own program's connection's folders.
    const mine = await call(foldersRoute, `/api/v1/folders?program=101&connection=${conn.nightly}`, { cookie: brandCookie });
    expect(mine.status).toBe(200);
    expect((await json<Page<Folder>>(mine)).data).toHaveLength(3);
  });
});

describe('event history as CSV', () => {
  async function listed(query: string): Promise<Json[]> {
    const out: Json[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        runsRoute,
        `/api/v1/connections/${conn.formula}/runs?program=101&limit=200&${query}${cursor ? `&cursor=${cursor}` : ''}`,
        {
          params: { id: conn.formula },
        },
      );
      const page = await json<Page<Json>>(res);
      out.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  }

  it('holds every run the filters match, in the list’s order, streamed past one batch, as an attachment', async () => {
    const res = await call(runsCsvRoute, `/api/v1/connections/${conn.formula}/runs.csv?program=101&status=failed`, {
      params: { id: conn.formula },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    const day = new Date().toISOString().slice(0, 10);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="event-history-101-hyperlink-http-evil-example-open-me-${day}.csv"; filename*=UTF-8''event-history-101-hyperlink-http-evil-example-open-me-${day}.csv`,
    );
    const { header, records } = csvRecords(await res.text());
    expect(header).toEqual([...RUNS_CSV_COLUMNS]);
    const expected = await listed('status=failed');
    expect(expected.length).toBeGreaterThan(CSV_BATCH / 2);
    expect(records.map((r) => r.run_id)).toEqual(expected.map((r) => r.id));
    expect(new Set(records.map((r) => r.status))).toEqual(new Set(['Failed']));
    // Cells are the list's values; text a spreadsheet would run is defused.
    const newest = records[0];
    expect(newest).toMatchObject({
      type: 'Automated',
      destination: 'Export API',
      delivery_attempts: '1',
      error_code: 'auth_failed',
      error_message: `'-rejected, "twice", by the server`,
      window_start: expected[0].window_start,
      rows: String(expected[0].rows_total),
    });

    const all = await call(runsCsvRoute, `/api/v1/connections/${conn.formula}/runs.csv?program=101`, { params: { id: conn.formula } });
    const every = csvRecords(await all.text()).records;
    expect(every).toHaveLength(CSV_BATCH + 150);
    expect(new Set(every.map((r) => r.run_id)).size).toBe(every.length);
  });

  it('applies the date and export type filters, and refuses bad ones with 422 before any byte of CSV', async () => {
    const from = new Date(BASE + 10 * DAY).toISOString();
    const to = new Date(BASE + 12 * DAY).toISOString();
    const res = await call(
      runsCsvRoute,
      `/api/v1/connections/${conn.formula}/runs.csv?program=101&from=${from}&to=${to}&export_type=incremental`,
      {
        params: { id: conn.formula },
      },
    );
    const rows = csvRecords(await res.text()).records;
    expect(rows.map((r) => r.run_id)).toEqual((await listed(`from=${from}&to=${to}&export_type=incremental`)).map((r) => r.id));
    expect(rows.length).toBe(12);
    const historical = await call(runsCsvRoute, `/api/v1/connections/${conn.formula}/runs.csv?program=101&export_type=historical`, {
      params: { id: conn.formula },
    });
    expect(csvRecords(await historical.text()).records).toEqual([]);

    const bad = await call(runsCsvRoute, `/api/v1/connections/${conn.formula}/runs.csv?program=101&status=lost`, {
      params: { id: conn.formula },
    });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toMatch(/json/);
    expect((await errorOf(bad)).message).toMatch(/status must be one of/);
  });

  it('is read by a Brand Super Admin of the program; another program’s connection is not found', async () => {
    const mine = await call(runsCsvRoute, `/api/v1/connections/${conn.nightly}/runs.csv?program=101`, {
      cookie: brandCookie,
      params: { id: conn.nightly },
    });
    expect(mine.status).toBe(200);
    expect(csvRecords(await mine.text()).records).toHaveLength(4);
    for (const [program, id] of [
      [101, conn.globex],
      [202, conn.globex],
    ] as const) {
      const res = await call(runsCsvRoute, `/api/v1/connections/${id}/runs.csv?program=${program}`, {
        cookie: brandCookie,
        params: { id },
      });
      expect(res.status).toBe(404);
    }
  });
});

describe('Activity Log as CSV', () => {
  it('holds the entries the filters match, names the connections, defuses formulas and shows no secret', async () => {
    const res = await call(activityCsvRoute, '/api/v1/activity-log.csv?program=101&action=connection.created', { cookie: brandCookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`filename="activity-log-101-${new Date().toISOString().slice(0, 10)}.csv"`);
    const { header, records } = csvRecords(await res.text());
    expect(header).toEqual([...ACTIVITY_CSV_COLUMNS]);
    const listed = await json<Page<Json>>(
      await call(activityRoute, '/api/v1/activity-log?program=101&action=connection.created&limit=200'),
    );
    expect(records.map((r) => r.action)).toEqual(listed.data.map(() => 'connection.created'));
    expect(records.map((r) => r.target_id)).toEqual(listed.data.map((e) => e.target_id));
    expect(records.map((r) => r.target_name).sort()).toEqual([`'${FORMULA_NAME}`, 'Busy API', 'Nightly API', 'Short-lived API'].sort());
    const formula = records.find((r) => r.target_id === conn.formula)!;
    expect(formula.actor).toBe(firstup.email);
    expect(JSON.parse(formula.after)).toMatchObject({ name: FORMULA_NAME, kind: 'api' });

    const all = await call(activityCsvRoute, '/api/v1/activity-log.csv?program=101');
    const text = await all.text();
    expect(text).not.toContain('hunter2-do-not-show');
    const updated = csvRecords(text).records.find((r) => r.action === 'connection.updated')!;
    expect(JSON.parse(updated.details)).toEqual({ sftp_password: '[redacted]', note: 'rotated' });
    // Another program's entries are not in it.
    expect(text).not.toContain(conn.globex);
  });

  it('downloads the failed deliveries with kind=delivery_errors, and refuses a read-only token and bad filters', async () => {
    const res = await call(activityCsvRoute, '/api/v1/activity-log.csv?program=101&kind=delivery_errors');
    expect(res.headers.get('content-disposition')).toContain('filename="delivery-errors-101-');
    const { records } = csvRecords(await res.text());
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      action: 'delivery.failed',
      actor: 'system',
      target_name: `'${FORMULA_NAME}`,
      connection_id: conn.formula,
    });
    expect(JSON.parse(records[0].details)).toMatchObject({ error_code: 'auth_failed', error_message: '@server refused the sign-in' });

    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: firstup.id, scopes: ['data_exports.read'] });
    const refused = await call(activityCsvRoute, '/api/v1/activity-log.csv?program=101', { token });
    expect(refused.status).toBe(403);
    // An API client reaches nothing of the management API, the Activity Log included.
    const [client] = await t.db
      .insert(apiClients)
      .values({ programId: 101, name: 'Loader', clientId: 'acme-loader', secretHash: 'x' })
      .returning();
    const clientToken = await createApiToken(t.db, {
      kind: 'client',
      apiClientId: client.id,
      programId: 101,
      scopes: ['data_exports.read'],
    });
    expect((await call(activityCsvRoute, '/api/v1/activity-log.csv?program=101', { token: clientToken.token })).status).toBe(404);
    const bad = await call(activityCsvRoute, '/api/v1/activity-log.csv?program=101&kind=everything');
    expect(bad.status).toBe(422);
    expect((await errorOf(bad)).message).toBe('Kind: kind must be "audit", "delivery_errors" or "all" (you entered “everything”).');
    const otherProgram = await call(activityCsvRoute, '/api/v1/activity-log.csv?program=202', { cookie: brandCookie });
    expect(otherProgram.status).toBe(404);
  });
});

describe('API access for a Brand Super Admin', () => {
  it('lists the program’s clients and their own tokens, but every write answers 403 and nothing changes', async () => {
    const created = await call(createClientRoute, '/api/v1/api-clients', {
      method: 'POST',
      json: { program_id: 101, name: 'Warehouse loader', scopes: ['data_exports.read'], connection_ids: [conn.nightly] },
    });
    expect(created.status).toBe(201);
    const client = (await json<{ data: { id: string; client_id: string; client_secret: string } }>(created)).data;

    const list = await call(listClientsRoute, '/api/v1/api-clients?program=101', { cookie: brandCookie });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).toContain(client.client_id);
    expect(text).toContain('Warehouse loader');
    expect(text).not.toContain(client.client_secret);
    expect((await call(listClientsRoute, '/api/v1/api-clients?program=202', { cookie: brandCookie })).status).toBe(404);
    expect((await call(listTokensRoute, '/api/v1/tokens', { cookie: brandCookie })).status).toBe(200);

    const count = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(apiClients))[0].n;
    const audits = async () => (await t.db.select({ n: sql<number>`count(*)::int` }).from(auditLog))[0].n;
    const before = [await count(), await audits()];
    const create = await call(createClientRoute, '/api/v1/api-clients', {
      method: 'POST',
      cookie: brandCookie,
      json: { program_id: 101, name: 'Sneaky', scopes: ['data_exports.read'], connection_ids: [conn.nightly] },
    });
    expect(create.status).toBe(403);
    expect((await errorOf(create)).message).toMatch(/read-only access and cannot do this: it needs the api_access.manage permission/);
    const revoke = await call(revokeClientRoute, `/api/v1/api-clients/${client.id}?program=101`, {
      method: 'DELETE',
      cookie: brandCookie,
      params: { client_id: client.id },
    });
    expect(revoke.status).toBe(403);
    expect([await count(), await audits()]).toEqual(before);
    const still = await json<{ data: { id: string; status: string }[] }>(
      await call(listClientsRoute, '/api/v1/api-clients?program=101', { cookie: brandCookie }),
    );
    expect(still.data.find((c) => c.id === client.id)?.status).toBe('active');
  });
});

describe('the OpenAPI document', () => {
  it('describes the CSV downloads, the folders’ connection filter and who reads API clients, and still validates', async () => {
    const res = await openapiRoute(request('GET', '/api/v1/openapi.json'), { params: Promise.resolve({}) });
    type Op = {
      operationId: string;
      parameters: { name: string }[];
      responses: Record<string, { content?: Record<string, unknown> }>;
      description?: string;
    };
    const doc = await json<{ paths: Record<string, Record<string, Op>> }>(res);
    const runsCsv = doc.paths['/api/v1/connections/{id}/runs.csv'].get;
    expect(runsCsv.operationId).toBe('downloadRunsCsv');
    expect(runsCsv.parameters.map((p) => p.name)).toEqual(['id', 'status', 'file_type', 'export_type', 'from', 'to', 'program']);
    expect(Object.keys(runsCsv.responses['200'].content ?? {})).toEqual(['text/csv']);
    const activityCsv = doc.paths['/api/v1/activity-log.csv'].get;
    expect(activityCsv.parameters.map((p) => p.name)).toEqual(['kind', 'action', 'target_type', 'target_id', 'from', 'to', 'program']);
    expect(doc.paths['/api/v1/folders'].get.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['connection', 'export_type', 'include_expired']),
    );
    expect(doc.paths['/api/v1/api-clients'].get.description).toContain('permission `api_access.read`');
    expect(doc.paths['/api/v1/api-clients'].post.description).toContain('permission `api_access.manage`');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });
});
