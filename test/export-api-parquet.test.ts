// A Parquet API connection's files through the export API, as a warehouse job fetches them: the
// metadata says parquet and zstd, the download is application/vnd.apache.parquet with the stored
// bytes (read back by pyarrow), and the folder zip stores the .parquet files as they are.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as latestRoute } from '@/pages/api/v1/data_exports/[type]/latest';
import { GET as downloadRoute } from '@/pages/api/v1/downloads/[signed]';
import { GET as archiveRoute } from '@/pages/api/v1/folders/[run_id]/archive';
import { closeDatabase } from '@/db/client';
import { setStorage, type LocalStorage } from '@/lib/storage';
import { request, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call, clientToken, programWithRun, useTempStorage } from './helpers/export-api';

const A = 4311;
const UNTIL = new Date('2026-11-28T12:00:00Z');
let t: TestDatabase;
let storage: LocalStorage;
let root: string;
let runId: string;
let connectionId: string;
let token: string;
let work: string;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  ({ storage, root } = useTempStorage());
  ({ runId, connectionId } = await programWithRun(t, {
    programId: A,
    name: 'Acme',
    until: UNTIL,
    storage,
    format: 'parquet',
    events: 500,
  }));
  token = (await clientToken(t, A, ['data_exports.read'], { connectionIds: [connectionId] })).token;
  work = mkdtempSync(path.join(os.tmpdir(), 'dde-api-parquet-'));
}, 120_000);

afterAll(async () => {
  setStorage(undefined);
  await closeDatabase();
  await t?.drop();
  for (const d of [root, work]) if (d) rmSync(d, { recursive: true, force: true });
});

type FileMeta = { name: string; format: string; compression: string; rows: number; bytes: number; sha256: string; download_url: string };

describe('a parquet API connection', () => {
  it('lists its files as parquet with zstd and serves them as application/vnd.apache.parquet, read back by pyarrow', async () => {
    const res = await call(latestRoute, request('GET', '/api/v1/data_exports/activities/latest', { token }), { type: 'activities' });
    expect(res.status).toBe(200);
    const meta = ((await res.json()) as { data: FileMeta }).data;
    expect(meta).toMatchObject({
      name: '4311-11-27-2026-12-activity-incremental.parquet',
      format: 'parquet',
      compression: 'zstd',
      rows: 500,
    });
    const u = new URL(meta.download_url);
    const signed = decodeURIComponent(u.pathname.split('/').pop()!);
    const file = await call(downloadRoute, request('GET', u.pathname), { signed });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(file.headers.get('content-disposition')).toContain(`filename="${meta.name}"`);
    const body = Buffer.from(await file.arrayBuffer());
    expect(body.length).toBe(meta.bytes);
    expect(sha256(body)).toBe(meta.sha256);
    const local = path.join(work, meta.name);
    writeFileSync(local, body);
    const rows = execFileSync(
      'python3',
      ['-c', 'import sys, pyarrow.parquet as pq; print(pq.read_metadata(sys.argv[1]).num_rows)', local],
      {
        encoding: 'utf8',
      },
    );
    expect(rows.trim()).toBe('500');
  });

  it('zips its folder with the .parquet files stored as they are, each with its sidecar', async () => {
    const res = await call(archiveRoute, request('GET', `/api/v1/folders/${runId}/archive`, { token }), { run_id: runId });
    expect(res.status).toBe(200);
    writeFileSync(path.join(work, 'folder.zip'), Buffer.from(await res.arrayBuffer()));
    const listing = spawnSync('unzip', ['-v', 'folder.zip'], { cwd: work, encoding: 'utf8' }).stdout;
    const parquet = listing.split('\n').filter((l) => l.trim().endsWith('.parquet'));
    expect(parquet.length).toBe(3);
    for (const line of parquet) expect(line).toMatch(/\sStored\s/);
    expect(spawnSync('unzip', ['-q', '-o', 'folder.zip', '-d', 'out'], { cwd: work }).status).toBe(0);
    const check = spawnSync('sh', ['-c', 'sha256sum -c *.sha256'], { cwd: path.join(work, 'out'), encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(
      readFileSync(path.join(work, 'out', '4311-11-27-2026-12-activity-incremental.parquet'))
        .subarray(0, 4)
        .toString(),
    ).toBe('PAR1');
  });
});
