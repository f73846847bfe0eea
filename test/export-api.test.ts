// The Export API as a customer's pipeline uses it: who may call it (the authorization matrix), the
// latest file, metadata, signed downloads with exact bytes and ranges, folders as zips, expiry,
// rate limits — through the real route handlers, a real database and real generated files.
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as latestRoute } from '@/pages/api/v1/data_exports/[type]/latest';
import { GET as listRoute } from '@/pages/api/v1/data_exports/[type]/index';
import { GET as fileRoute } from '@/pages/api/v1/data_exports/[type]/[file_id]';
import { GET as downloadRoute, HEAD as downloadHeadRoute } from '@/pages/api/v1/downloads/[signed]';
import { GET as foldersRoute } from '@/pages/api/v1/folders/index';
import { GET as archiveRoute } from '@/pages/api/v1/folders/[run_id]/archive';
import { closeDatabase } from '@/db/client';
import { apiTokens, exportFiles, type Account, type ExportFile } from '@/db/schema';
import { revokeApiClient } from '@/lib/auth/api-clients';
import { clearTokenCache } from '@/lib/auth/token-cache';
import { createApiToken } from '@/lib/auth/tokens';
import { resetClock, setClock } from '@/lib/clock';
import { signDownload } from '@/lib/export-api/signed-links';
import { exportFileSchema, fileListResponseSchema, folderListResponseSchema, latestFileResponseSchema } from '@/lib/export-api/schemas';
import { RateLimiter, setApiRateLimiter } from '@/lib/http/rate-limit';
import { setStorage, type LocalStorage } from '@/lib/storage';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import downloadPagesRoute from '@/pages/api/v1/downloads/[signed]';
import { call, clientToken, programWithRun, useTempStorage, type ErrorBody } from './helpers/export-api';

const A = 4101;
const B = 4102;
const EMPTY = 4103;
const UNTIL = new Date('2026-11-28T12:00:00Z');

let t: TestDatabase;
let storage: LocalStorage;
let root: string;
let runA: string;
let runB: string;
let tokenA: string;
let tokenB: string;
let firstup: Account;
let brandA: Account;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

async function errorOf(res: Response): Promise<ErrorBody['error']> {
  const body = await json<ErrorBody>(res);
  expect(body.request_id).toBe(res.headers.get('x-request-id'));
  return body.error;
}

async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

async function filesOf(programId: number, runId: string): Promise<ExportFile[]> {
  return t.db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.programId, programId), eq(exportFiles.runId, runId)));
}

async function latest(type: string, opts: Parameters<typeof request>[2] = {}, query = ''): Promise<Response> {
  return call(latestRoute, request('GET', `/api/v1/data_exports/${type}/latest${query}`, opts), { type });
}

/** The download path of a download_url, as a route call. */
function download(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  const u = new URL(url);
  const signed = decodeURIComponent(u.pathname.split('/').pop()!);
  return call(method === 'HEAD' ? downloadHeadRoute : downloadRoute, request(method, u.pathname, { headers }), { signed });
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  ({ storage, root } = useTempStorage());
  runA = (await programWithRun(t, { programId: A, name: 'Acme', until: UNTIL, storage })).runId;
  runB = (await programWithRun(t, { programId: B, name: 'Globex', until: UNTIL, storage })).runId;
  await createPrograms(t.db, [{ id: EMPTY, name: 'Empty' }]);
  tokenA = (await clientToken(t, A)).token;
  tokenB = (await clientToken(t, B)).token;
  firstup = await createAccount(t.db, { role: 'firstup_super_admin' });
  brandA = await createAccount(t.db, { role: 'brand_super_admin', programIds: [A] });
}, 120_000);

afterAll(async () => {
  resetClock();
  setStorage(undefined);
  setApiRateLimiter(undefined);
  await closeDatabase();
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the authorization matrix', () => {
  it('answers 401 without a token, with a malformed header, and with an expired or revoked token', async () => {
    const none = await latest('activities');
    expect(none.status).toBe(401);
    expect((await errorOf(none)).code).toBe('unauthorized');

    for (const authorization of [
      'Bearer',
      'Bearer ',
      'Token abc',
      'Bearer two words',
      'Bearer short',
      'Basic Zm9vOmJhcg==',
      `Bearer ${'x'.repeat(600)}`,
    ]) {
      const res = await latest('activities', { authorization });
      expect(res.status, authorization.slice(0, 20)).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }

    const expired = await clientToken(t, A, ['data_exports.read'], { expiresAt: new Date(Date.now() - 1000) });
    expect((await latest('activities', { token: expired.token })).status).toBe(401);

    const revoked = await clientToken(t, A);
    expect((await latest('activities', { token: revoked.token })).status).toBe(200);
    await revokeApiClient(t, { programId: A, idOrClientId: revoked.client.clientId, author: { accountId: null, label: 'test' } });
    const after = await latest('activities', { token: revoked.token });
    expect(after.status).toBe(401);
    expect((await errorOf(after)).message).toBe('The API token is invalid, expired or revoked.');
  });

  it('answers 403 for a token without the data_exports.read scope', async () => {
    const { client } = await clientToken(t, A);
    const { token } = await createApiToken(t.db, { kind: 'client', apiClientId: client.id, programId: A, scopes: [] });
    const res = await latest('activities', { token });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toMatch(/lacks the data_exports.read scope/);
  });

  it("answers 404 for another program's file, folder and program, exactly as for ones that do not exist", async () => {
    const [fileOfB] = (await filesOf(B, runB)).filter((f) => f.fileType === 'activity');
    const other = await call(fileRoute, request('GET', `/api/v1/data_exports/activities/${fileOfB.id}`, { token: tokenA }), {
      type: 'activities',
      file_id: fileOfB.id,
    });
    const missing = await call(
      fileRoute,
      request('GET', '/api/v1/data_exports/activities/00000000-0000-4000-8000-000000000000', { token: tokenA }),
      {
        type: 'activities',
        file_id: '00000000-0000-4000-8000-000000000000',
      },
    );
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await errorOf(other)).message).toBe(`Export file ${fileOfB.id} was not found.`);

    const zip = await call(archiveRoute, request('GET', `/api/v1/folders/${runB}/archive`, { token: tokenA }), { run_id: runB });
    expect(zip.status).toBe(404);
    const program = await latest('activities', { token: tokenA }, `?program=${B}`);
    expect(program.status).toBe(404);
    expect((await errorOf(program)).message).toBe(`Program ${B} was not found.`);
  });

  it('serves signed-in users by permission: a Brand Super Admin sees their program, not another', async () => {
    const cookie = await sessionCookie(brandA);
    const own = await latest('activities', { cookie });
    expect(own.status).toBe(200);
    expect((await json<{ data: { program_id: number } }>(own)).data.program_id).toBe(A);
    expect((await latest('activities', { cookie }, `?program=${B}`)).status).toBe(404);
  });

  it('asks callers that reach several programs which one (422), and 404s a program that does not exist', async () => {
    const cookie = await sessionCookie(firstup);
    const ambiguous = await latest('activities', { cookie });
    expect(ambiguous.status).toBe(422);
    expect((await errorOf(ambiguous)).details).toEqual({
      fields: [{ path: 'program', message: expect.stringMatching(/more than one program/) }],
    });
    expect((await latest('activities', { cookie }, `?program=${B}`)).status).toBe(200);
    expect((await latest('activities', { cookie }, '?program=999999')).status).toBe(404);
  });

  it('gives a personal token its owner’s programs', async () => {
    const { token } = await createApiToken(t.db, { kind: 'personal', accountId: brandA.id, scopes: ['data_exports.read'] });
    expect((await latest('users', { token })).status).toBe(200);
    expect((await latest('users', { token }, `?program=${B}`)).status).toBe(404);
  });
});

describe('the latest file, lists and metadata', () => {
  it('answers the newest activity file with its metadata and a signed link valid for 900 s', async () => {
    const res = await latest('activities', { token: tokenA });
    expect(res.status).toBe(200);
    const { data } = latestFileResponseSchema.parse(await res.json());
    const [row] = (await filesOf(A, runA)).filter((f) => f.fileType === 'activity');
    expect(data).toMatchObject({
      id: row.id,
      program_id: A,
      run_id: runA,
      name: `${A}-11-27-2026-12-activity-incremental.gz`,
      type: 'activities',
      file_type: 'activity',
      export_type: 'incremental',
      window_start: '2026-11-27T12:00:00.000Z',
      window_end: '2026-11-28T12:00:00.000Z',
      rows: row.rows,
      bytes: row.bytes,
      sha256: row.sha256,
      format: 'csv',
      compression: 'gzip',
      presigned_url_ttl_seconds: 900,
    });
    expect(data!.download_url).toMatch(/^http:\/\/localhost:3000\/api\/v1\/downloads\/[0-9a-f-]{36}\.4101\.\d+\.[A-Za-z0-9_-]{43}$/);
    const ttl = (Date.parse(data!.download_url_expires_at) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(890);
    expect(ttl).toBeLessThanOrEqual(900);
  });

  it('answers {"data": null} when there is no file of the type', async () => {
    const res = await latest('campaigns', { cookie: await sessionCookie(firstup) }, `?program=${EMPTY}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: null, window: null });
  });

  it('answers 404 for an unknown type', async () => {
    const res = await latest('events', { token: tokenA });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).message).toBe(
      'There is no export type "events": the types are user, campaign and activity (or users, campaigns, activities).',
    );
  });

  it('lists files of one type, newest first, and filters by export type and time', async () => {
    const res = await call(listRoute, request('GET', '/api/v1/data_exports/users?limit=10', { token: tokenA }), { type: 'users' });
    expect(res.status).toBe(200);
    const page = fileListResponseSchema.parse(await res.json());
    expect(page.data.map((f) => f.file_type)).toEqual(['user']);
    expect(page).toMatchObject({ has_more: false, next_cursor: null });
    const historical = await call(listRoute, request('GET', '/api/v1/data_exports/users?export_type=historical', { token: tokenA }), {
      type: 'users',
    });
    expect((await json<{ data: unknown[] }>(historical)).data).toEqual([]);
    const future = await call(listRoute, request('GET', '/api/v1/data_exports/users?since=2100-01-01', { token: tokenA }), {
      type: 'users',
    });
    expect((await json<{ data: unknown[] }>(future)).data).toEqual([]);
  });

  it('answers metadata by id, and 404 when the id is of another type', async () => {
    const [campaign] = (await filesOf(A, runA)).filter((f) => f.fileType === 'campaign');
    const ok = await call(fileRoute, request('GET', `/api/v1/data_exports/campaigns/${campaign.id}`, { token: tokenA }), {
      type: 'campaigns',
      file_id: campaign.id,
    });
    expect(ok.status).toBe(200);
    const { data } = await json<{ data: unknown }>(ok);
    expect(exportFileSchema.parse(data)).toMatchObject({
      id: campaign.id,
      name: campaign.name,
      sha256: campaign.sha256,
      rows: campaign.rows,
    });
    const wrongType = await call(fileRoute, request('GET', `/api/v1/data_exports/users/${campaign.id}`, { token: tokenA }), {
      type: 'users',
      file_id: campaign.id,
    });
    expect(wrongType.status).toBe(404);
  });
});

describe('downloads', () => {
  let meta: { id: string; download_url: string; sha256: string; bytes: number; name: string };
  beforeAll(async () => {
    meta = (await json<{ data: typeof meta }>(await latest('activities', { token: tokenA }))).data;
  });

  it('serves the stored bytes, which hash to the metadata’s sha256, with length, ETag and disposition', async () => {
    const res = await download(meta.download_url);
    expect(res.status).toBe(200);
    const body = await bytesOf(res);
    expect(body.length).toBe(meta.bytes);
    expect(sha256(body)).toBe(meta.sha256);
    expect(res.headers.get('content-length')).toBe(String(meta.bytes));
    expect(res.headers.get('etag')).toBe(`"${meta.sha256}"`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-disposition')).toContain(`attachment; filename="${meta.name}"`);
  });

  it('serves Range requests whose parts reassemble the file, suffix ranges, 416 past the end, and HEAD', async () => {
    const chunk = Math.ceil(meta.bytes / 7);
    const parts: Buffer[] = [];
    for (let start = 0; start < meta.bytes; start += chunk) {
      const end = Math.min(start + chunk, meta.bytes) - 1;
      const res = await download(meta.download_url, { range: `bytes=${start}-${end}` });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${meta.bytes}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      parts.push(await bytesOf(res));
    }
    expect(sha256(Buffer.concat(parts))).toBe(meta.sha256);

    const whole = await bytesOf(await download(meta.download_url));
    const tail = await download(meta.download_url, { range: 'bytes=-100' });
    expect(tail.status).toBe(206);
    expect((await bytesOf(tail)).equals(whole.subarray(whole.length - 100))).toBe(true);
    const open = await download(meta.download_url, { range: `bytes=${meta.bytes - 10}-` });
    expect((await bytesOf(open)).equals(whole.subarray(meta.bytes - 10))).toBe(true);

    const past = await download(meta.download_url, { range: `bytes=${meta.bytes}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${meta.bytes}`);
    expect((await errorOf(past)).code).toBe('range_not_satisfiable');

    // Several ranges, or a range that does not parse: the whole file (RFC 9110 allows ignoring Range).
    expect((await download(meta.download_url, { range: 'bytes=0-1,5-6' })).status).toBe(200);
    expect((await download(meta.download_url, { range: 'lines=1-2' })).status).toBe(200);
    // If-Range with another ETag: the whole file.
    expect((await download(meta.download_url, { range: 'bytes=0-9', 'if-range': '"other"' })).status).toBe(200);

    const head = await download(meta.download_url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(meta.bytes));
    expect((await bytesOf(head)).length).toBe(0);

    const notModified = await download(meta.download_url, { 'if-none-match': `"${meta.sha256}"` });
    expect(notModified.status).toBe(304);
  });

  it('answers 403 saying the link expired once it is past its TTL, and 403 for an altered link', async () => {
    setClock(new Date(Date.now() + 901_000));
    try {
      const res = await download(meta.download_url);
      expect(res.status).toBe(403);
      const err = await errorOf(res);
      expect(err.message).toMatch(/^This download link expired at \d{4}-.*Z\. Ask the API for the file again to get a new link\.$/);
      expect(err.details).toEqual({ link_expired_at: expect.any(String) });
    } finally {
      resetClock();
    }
    const altered = meta.download_url.replace(/\.(\d+)\./, (_m, exp: string) => `.${Number(exp) + 3600}.`);
    expect((await download(altered)).status).toBe(403);
    const otherFile = meta.download_url.replace(/downloads\/[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0'));
    expect((await download(otherFile)).status).toBe(403);
    expect((await download('http://localhost:3000/api/v1/downloads/garbage')).status).toBe(403);
  });

  it('honours a configured TTL', async () => {
    const { token } = signDownload({ fileId: meta.id, programId: A, ttlSeconds: 10 });
    expect((await download(`http://localhost:3000/api/v1/downloads/${token}`)).status).toBe(200);
    setClock(new Date(Date.now() + 11_000));
    try {
      expect((await download(`http://localhost:3000/api/v1/downloads/${token}`)).status).toBe(403);
    } finally {
      resetClock();
    }
  });
});

describe('downloads over HTTP (the Pages API route that keeps Content-Length)', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => void downloadPagesRoute(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends Content-Length on whole files, ranges and HEAD, and the bytes hash to the sha256', async () => {
    const meta = (
      await json<{ data: { download_url: string; bytes: number; sha256: string } }>(await latest('activities', { token: tokenA }))
    ).data;
    const url = base + new URL(meta.download_url).pathname;
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(meta.bytes));
    expect(whole.headers.get('transfer-encoding')).toBeNull();
    expect(sha256(await bytesOf(whole))).toBe(meta.sha256);
    const part = await fetch(url, { headers: { range: 'bytes=10-19' } });
    expect([part.status, part.headers.get('content-length'), part.headers.get('content-range')]).toEqual([
      206,
      '10',
      `bytes 10-19/${meta.bytes}`,
    ]);
    await part.arrayBuffer();
    const head = await fetch(url, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(meta.bytes)]);
    const forged = await fetch(url.replace(/\.[A-Za-z0-9_-]{43}$/, '.' + 'A'.repeat(43)));
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as ErrorBody).request_id).toBe(forged.headers.get('x-request-id'));
    const post = await fetch(url, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('builds links on the host the caller used (a reverse proxy’s forwarded host and scheme)', async () => {
    const res = await latest('activities', {
      token: tokenA,
      headers: { host: 'internal:3000', 'x-forwarded-host': 'exports.example.com', 'x-forwarded-proto': 'https' },
    });
    expect((await json<{ data: { download_url: string } }>(res)).data.download_url).toMatch(
      /^https:\/\/exports\.example\.com\/api\/v1\/downloads\//,
    );
  });
});

describe('expired files', () => {
  it('are no longer available: 410 with when they expired, for metadata and downloads, and gone from latest', async () => {
    const [user] = (await filesOf(B, runB)).filter((f) => f.fileType === 'user');
    const before = (await json<{ data: { id: string; download_url: string } }>(await latest('users', { token: tokenB }))).data;
    expect(before.id).toBe(user.id);

    const expiredAt = new Date('2026-12-05T12:00:00Z');
    await t.db.update(exportFiles).set({ expired: true, expiredAt, expiresAt: expiredAt }).where(eq(exportFiles.id, user.id));

    const meta = await call(fileRoute, request('GET', `/api/v1/data_exports/users/${user.id}`, { token: tokenB }), {
      type: 'users',
      file_id: user.id,
    });
    expect(meta.status).toBe(410);
    const err = await errorOf(meta);
    expect(err.code).toBe('gone');
    expect(err.message).toBe(`The export file ${user.name} expired at 2026-12-05T12:00:00.000Z; its bytes have been deleted.`);
    expect(err.details).toEqual({ name: user.name, expired_at: '2026-12-05T12:00:00.000Z' });

    const dl = await download(before.download_url);
    expect(dl.status).toBe(410);
    expect((await json<{ data: null }>(await latest('users', { token: tokenB }))).data).toBeNull();

    // A file past expires_at that the retention sweep has not reached yet is expired too.
    const [campaign] = (await filesOf(B, runB)).filter((f) => f.fileType === 'campaign');
    await t.db
      .update(exportFiles)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(exportFiles.id, campaign.id));
    expect((await json<{ data: null }>(await latest('campaigns', { token: tokenB }))).data).toBeNull();

    const zip = await call(archiveRoute, request('GET', `/api/v1/folders/${runB}/archive`, { token: tokenB }), { run_id: runB });
    expect(zip.status).toBe(410);
  });
});

describe('folders', () => {
  it('lists one folder per run with its window, files, sizes, checksums and totals', async () => {
    const res = await call(foldersRoute, request('GET', '/api/v1/folders', { token: tokenA }));
    expect(res.status).toBe(200);
    const page = folderListResponseSchema.parse(await res.json());
    expect(page.data).toHaveLength(1);
    const [folder] = page.data;
    const files = await filesOf(A, runA);
    expect(folder).toMatchObject({
      run_id: runA,
      program_id: A,
      name: `${A}-11-27-2026-12-incremental`,
      export_type: 'incremental',
      window_start: '2026-11-27T12:00:00.000Z',
      window_end: '2026-11-28T12:00:00.000Z',
      file_count: files.length,
      total_bytes: files.reduce((n, f) => n + f.bytes, 0),
      expired: false,
      archive_url: `http://localhost:3000/api/v1/folders/${runA}/archive`,
    });
    expect(folder.files.map((f) => f.name)).toEqual([
      `${A}-11-27-2026-12-activity-incremental.gz`,
      `${A}-11-27-2026-12-campaign-incremental.gz`,
      `${A}-11-27-2026-12-user-incremental.gz`,
      `${A}-11-27-2026-12-manifest-incremental.json`,
    ]);
    for (const f of folder.files) expect(f.sha256).toBe(files.find((r) => r.id === f.id)!.sha256);
  });

  it('streams the folder as a zip whose entries unzip to the stored bytes, sidecars and manifest last', async () => {
    const res = await call(archiveRoute, request('GET', `/api/v1/folders/${runA}/archive`, { cookie: await sessionCookie(brandA) }), {
      run_id: runA,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toContain(`filename="${A}-11-27-2026-12-incremental.zip"`);
    const zip = await bytesOf(res);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-zip-'));
    try {
      writeFileSync(path.join(dir, 'folder.zip'), zip);
      const list = spawnSync('unzip', ['-Z1', 'folder.zip'], { cwd: dir, encoding: 'utf8' });
      expect(list.status).toBe(0);
      const files = await filesOf(A, runA);
      const data = files.filter((f) => f.fileType !== 'manifest').sort((a, b) => a.name.localeCompare(b.name));
      const manifest = files.find((f) => f.fileType === 'manifest')!;
      expect(list.stdout.trim().split('\n')).toEqual([
        ...data.flatMap((f) => [f.name, `${f.name}.sha256`]),
        `${manifest.name}.sig`,
        manifest.name,
      ]);

      const out = path.join(dir, 'out');
      expect(spawnSync('unzip', ['-q', 'folder.zip', '-d', out], { cwd: dir }).status).toBe(0);
      expect(readdirSync(out).sort()).toEqual(
        [...data.flatMap((f) => [f.name, `${f.name}.sha256`]), manifest.name, `${manifest.name}.sig`].sort(),
      );
      expect(readFileSync(path.join(out, `${manifest.name}.sig`), 'utf8')).toBe(manifest.signature);
      for (const f of files) {
        const unzipped = readFileSync(path.join(out, f.name));
        expect(unzipped.equals(readFileSync(storage.localPath(f.storageKey))), f.name).toBe(true);
        expect(sha256(unzipped)).toBe(f.sha256);
        if (f.fileType !== 'manifest') expect(readFileSync(path.join(out, `${f.name}.sha256`), 'utf8')).toBe(`${f.sha256}  ${f.name}\n`);
      }
      // sha256sum -c accepts every sidecar, as a customer would check them.
      const check = spawnSync('sh', ['-c', 'sha256sum -c *.sha256'], { cwd: out, encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 404 for a run id that is not an id', async () => {
    const res = await call(archiveRoute, request('GET', '/api/v1/folders/nope/archive', { token: tokenA }), { run_id: 'nope' });
    expect(res.status).toBe(404);
  });
});

describe('the rate limit', () => {
  it('answers 429 with Retry-After once a client has spent its budget, and again after it refills', async () => {
    setApiRateLimiter(new RateLimiter(3));
    setClock(new Date('2031-01-01T00:00:00Z'));
    clearTokenCache();
    try {
      for (let i = 0; i < 3; i++) expect((await latest('activities', { token: tokenA })).status).toBe(200);
      const limited = await latest('activities', { token: tokenA });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('20');
      const err = await errorOf(limited);
      expect(err.code).toBe('rate_limited');
      expect(err.message).toBe('Too many requests: the limit is 3 per minute. Retry in 20 s.');
      // Another client has its own budget.
      expect((await latest('activities', { token: tokenB })).status).toBe(200);
      setClock(new Date('2031-01-01T00:00:20Z'));
      expect((await latest('activities', { token: tokenA })).status).toBe(200);
      expect((await latest('activities', { token: tokenA })).status).toBe(429);
    } finally {
      setApiRateLimiter(undefined);
      resetClock();
      clearTokenCache();
    }
  });
});

describe('token use', () => {
  it('records when a token was last used', async () => {
    const { token, tokenRow } = await clientToken(t, A);
    expect(tokenRow.lastUsedAt).toBeNull();
    await latest('activities', { token });
    const [row] = await t.db.select().from(apiTokens).where(eq(apiTokens.id, tokenRow.id));
    expect(row.lastUsedAt).toBeInstanceOf(Date);
  });
});
