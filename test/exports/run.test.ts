// generateRun: a run's files in storage, their export_files records and checksums, the manifest,
// idempotent re-runs, empty windows, aborts ("pause immediately") and concurrent workers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, exportFiles, exportRuns } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { planIncrementalRuns } from '@/db/queries/run-ledger';
import {
  ExportAbortedError,
  generateRun,
  keysFromJwks,
  publishedKeys,
  RunBusyError,
  verifyManifestSignature,
  type GenerateRunResult,
} from '@/lib/exports';
import { LocalStorage } from '@/lib/storage';
import { useTestEnv } from '../helpers/auth';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { parseCsv, PROGRAM, seedGoldenProgram, sha256, WINDOW } from './fixtures';

const BIG_PROGRAM = 4030;
const DAY = 86_400_000;

let t: TestDatabase;
let root: string;
let storage: LocalStorage;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t, { DDE_RETENTION_DAYS: '3' });
  await seedGoldenProgram(t.sql);
  // A program big enough that an abort lands mid-COPY.
  await t.sql`insert into programs (id, name) values (${BIG_PROGRAM}, 'Big')`;
  await t.sql`
    insert into activity_events (program_id, content_id, user_id, event_type, platform, occurred_at, ingested_at)
    select ${BIG_PROGRAM}, 1, i % 1000, 'impression', 'web', '2026-11-28T08:00:00Z', '2026-11-28T08:00:00Z'::timestamptz + i * interval '1 ms'
    from generate_series(1, 400000) i`;
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-run-'));
  storage = new LocalStorage(root);
  setClock(new Date('2026-11-28T12:06:00Z'));
});
afterAll(async () => {
  resetClock();
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function createRun(opts: { programId?: number; format?: 'csv' | 'jsonl' | 'xlsx'; window?: { start: Date; end: Date } } = {}) {
  const programId = opts.programId ?? PROGRAM;
  const [conn] = await t.db
    .insert(connections)
    .values({
      programId,
      kind: 'api',
      frequency: 'every_4_hours',
      startDate: new Date('2026-11-01T00:00:00Z'),
      format: opts.format ?? 'csv',
    })
    .returning();
  const w = opts.window ?? WINDOW;
  const [id] = await planIncrementalRuns(t.db, [{ connectionId: conn.id, programId, windowStart: w.start, windowEnd: w.end }]);
  const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, id));
  return { connection: conn, run };
}

/** Every regular file under the storage root (temporaries included), relative paths. */
function allFiles(dir = root, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? allFiles(dir, path.join(rel, e.name)) : [path.join(rel, e.name)],
  );
}

describe('generateRun', () => {
  let result: GenerateRunResult;
  let runId: string;
  let connectionId: string;

  beforeAll(async () => {
    const { run, connection } = await createRun();
    runId = run.id;
    connectionId = connection.id;
    result = await generateRun(t, runId, { storage });
  });

  it('stores each file under <program>/<run>/<attempt>/ with a sidecar, and the manifest', () => {
    const inRun = allFiles().filter((f) => f.startsWith(`${PROGRAM}/${runId}/`));
    expect(new Set(inRun.map((f) => path.dirname(f))).size).toBe(1); // one attempt's folder
    expect(inRun.map((f) => path.basename(f)).sort()).toEqual([
      '4021-11-28-2026-08-activity-incremental.gz',
      '4021-11-28-2026-08-activity-incremental.gz.sha256',
      '4021-11-28-2026-08-campaign-incremental.gz',
      '4021-11-28-2026-08-campaign-incremental.gz.sha256',
      '4021-11-28-2026-08-manifest-incremental.json',
      '4021-11-28-2026-08-user-incremental.gz',
      '4021-11-28-2026-08-user-incremental.gz.sha256',
    ]);
  });

  it('records every file with rows, bytes and a sha256 that match what is stored; sha256sum -c verifies each sidecar', async () => {
    const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId));
    expect(records.map((r) => r.fileType).sort()).toEqual(['activity', 'campaign', 'manifest', 'user']);
    for (const r of records) {
      const bytes = readFileSync(storage.localPath(r.storageKey));
      expect(r.bytes).toBe(bytes.length);
      expect(r.sha256).toBe(sha256(bytes));
      expect(r.programId).toBe(PROGRAM);
      expect(r.windowStart).toEqual(WINDOW.start);
      expect(r.windowEnd).toEqual(WINDOW.end);
      expect(r.expiresAt.getTime() - r.createdAt.getTime()).toBe(3 * DAY);
      expect(r.createdAt).toEqual(new Date('2026-11-28T12:06:00Z'));
      if (r.fileType === 'manifest') {
        expect(r).toMatchObject({ format: 'json', compression: 'none' });
        continue;
      }
      expect(r).toMatchObject({ format: 'csv', compression: 'gzip', exportType: 'incremental', part: 1 });
      const rows = parseCsv(gunzipSync(bytes).toString('utf8'));
      expect(r.rows).toBe(rows.length - 1);
      const sidecar = storage.localPath(r.storageKey) + '.sha256';
      expect(readFileSync(sidecar, 'utf8')).toBe(`${r.sha256}  ${r.name}\n`);
      const check = spawnSync('sha256sum', ['-c', path.basename(sidecar)], { cwd: path.dirname(sidecar), encoding: 'utf8' });
      expect(check.status).toBe(0);
      expect(check.stdout).toBe(`${r.name}: OK\n`);
    }
    expect(Object.fromEntries(records.filter((r) => r.fileType !== 'manifest').map((r) => [r.fileType, r.rows]))).toEqual({
      user: 2,
      campaign: 2,
      activity: 18,
    });
  });

  it('writes a manifest that lists exactly the run’s files with their rows, bytes and hashes', async () => {
    const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId));
    const manifestRecord = records.find((r) => r.fileType === 'manifest')!;
    const manifest = JSON.parse(readFileSync(storage.localPath(manifestRecord.storageKey), 'utf8'));
    expect(manifest).toEqual({
      schema_version: 1,
      program_id: PROGRAM,
      connection_id: connectionId,
      run_id: runId,
      export_type: 'incremental',
      sequence: 1,
      historical_request_id: null,
      window: { start: '2026-11-28T08:00:00Z', end: '2026-11-28T12:00:00Z' },
      previous_window_end: null,
      generated_at: '2026-11-28T12:06:00Z',
      rows: 22,
      files: ['user', 'campaign', 'activity'].map((type) => {
        const r = records.find((x) => x.fileType === type)!;
        return { name: r.name, type, format: 'csv', compression: 'gzip', rows: r.rows, bytes: r.bytes, sha256: r.sha256 };
      }),
    });
    // The manifest is the completion marker: the last file written.
    const dir = path.dirname(storage.localPath(manifestRecord.storageKey));
    const times = readdirSync(dir).map((n) => [n, statSync(path.join(dir, n)).mtimeMs] as const);
    const manifestTime = times.find(([n]) => n.includes('manifest'))![1];
    expect(times.every(([, ms]) => ms <= manifestTime)).toBe(true);
  });

  it('signs the manifest’s exact bytes with a published key, and the signature fails for any other bytes', async () => {
    const [manifestRecord] = await t.db
      .select()
      .from(exportFiles)
      .where(and(eq(exportFiles.runId, runId), eq(exportFiles.fileType, 'manifest')));
    const bytes = readFileSync(storage.localPath(manifestRecord.storageKey));
    const keys = keysFromJwks(await publishedKeys(t.db));
    expect(keys.size).toBe(1);
    expect(verifyManifestSignature(bytes, manifestRecord.signature, keys)).toEqual({ ok: true, kid: [...keys.keys()][0] });
    const forged = Buffer.from(bytes.toString('utf8').replace('"rows": 22', '"rows": 23'));
    expect(verifyManifestSignature(forged, manifestRecord.signature, keys)).toMatchObject({
      ok: false,
      problem: 'the signature does not match the manifest',
    });
  });

  it('sets the run’s totals and leaves its status to the caller', async () => {
    const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, runId));
    expect(run).toMatchObject({ rowsTotal: 22, filesCount: 3, status: 'planned', generatedAt: new Date('2026-11-28T12:06:00Z') });
    expect(run.bytesTotal).toBe(result.files.reduce((n, f) => n + f.bytes, 0));
    expect(result).toMatchObject({ empty: false, filesCount: 3, rowsTotal: 22 });
  });

  it('replaces its files and records when run again, instead of adding more', async () => {
    setClock(new Date('2026-11-28T13:00:00Z'));
    const again = await generateRun(t, runId, { storage });
    const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, runId));
    expect(records).toHaveLength(4);
    expect(records.every((r) => r.createdAt.getTime() === new Date('2026-11-28T13:00:00Z').getTime())).toBe(true);
    for (const f of again.files) expect(sha256(readFileSync(storage.localPath(f.key)))).toBe(f.sha256);
    expect(allFiles().filter((f) => f.startsWith(`${PROGRAM}/${runId}/`))).toHaveLength(7);
  });
});

describe('generateRun edge cases', () => {
  it('writes only a manifest for a window without rows: no data files, rows 0, its place in the sequence', async () => {
    const { run } = await createRun({ window: { start: new Date('2026-11-29T00:00:00Z'), end: new Date('2026-11-29T04:00:00Z') } });
    const result = await generateRun(t, run.id, { storage });
    expect(result).toMatchObject({ empty: true, files: [], rowsTotal: 0, filesCount: 0 });
    const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
    expect(records.map((r) => [r.fileType, r.name])).toEqual([['manifest', '4021-11-29-2026-00-manifest-incremental.json']]);
    expect((await storage.list(`${PROGRAM}/${run.id}/`)).map((k) => path.basename(k))).toEqual([records[0].name]);
    expect(JSON.parse(readFileSync(storage.localPath(records[0].storageKey), 'utf8'))).toMatchObject({
      sequence: 1,
      window: { start: '2026-11-29T00:00:00Z', end: '2026-11-29T04:00:00Z' },
      previous_window_end: null,
      rows: 0,
      files: [],
    });
  });

  it('writes xlsx runs without gzip and records them as such', async () => {
    const { run } = await createRun({ format: 'xlsx' });
    const result = await generateRun(t, run.id, { storage });
    expect(result.files.map((f) => f.name)).toEqual([
      '4021-11-28-2026-08-user-incremental.xlsx',
      '4021-11-28-2026-08-campaign-incremental.xlsx',
      '4021-11-28-2026-08-activity-incremental.xlsx',
    ]);
    const records = await t.db
      .select()
      .from(exportFiles)
      .where(and(eq(exportFiles.runId, run.id), eq(exportFiles.fileType, 'activity')));
    expect(records[0]).toMatchObject({ format: 'xlsx', compression: 'none', rows: 18 });
    expect(sha256(readFileSync(storage.localPath(records[0].storageKey)))).toBe(records[0].sha256);
  });

  it('throws not_found for an unknown run', async () => {
    await expect(generateRun(t, '00000000-0000-4000-8000-000000000000', { storage })).rejects.toMatchObject({ code: 'not_found' });
    await expect(generateRun(t, '00000000-0000-4000-8000-000000000000', { storage })).rejects.toBeInstanceOf(AppError);
  });

  it('refuses to generate a run another worker is generating (a job delivered twice)', async () => {
    const { run } = await createRun();
    const other = await t.sql.reserve();
    try {
      await other`select pg_advisory_lock(727003, hashtext(${run.id}))`;
      await expect(generateRun(t, run.id, { storage })).rejects.toBeInstanceOf(RunBusyError);
      expect(await storage.list(`${PROGRAM}/${run.id}/`)).toEqual([]);
    } finally {
      await other`select pg_advisory_unlock(727003, hashtext(${run.id}))`;
      other.release();
    }
    expect((await generateRun(t, run.id, { storage })).filesCount).toBe(3);
  });

  it('removes files an earlier attempt made that this attempt no longer makes', async () => {
    const { run } = await createRun();
    await generateRun(t, run.id, { storage });
    const userFiles = async () =>
      (await storage.list(`${PROGRAM}/${run.id}/`)).filter((k) => path.basename(k).startsWith('4021-11-28-2026-08-user'));
    expect(await userFiles()).toHaveLength(2);
    // The members move on (their updated_at leaves the window): the next attempt has no user file.
    // (Set explicitly, bypassing the updated_at trigger, so the test does not depend on today's date.)
    await t.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update members set updated_at = '2030-01-01T00:00:00Z' where program_id = ${PROGRAM}`;
    });
    const again = await generateRun(t, run.id, { storage });
    expect(again.files.map((f) => f.fileType)).toEqual(['campaign', 'activity']);
    expect(await userFiles()).toEqual([]);
    const records = await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id));
    expect(records.map((r) => r.fileType).sort()).toEqual(['activity', 'campaign', 'manifest']);
    const [r] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id));
    expect(r.filesCount).toBe(2);
  });
});

describe('abort (pause immediately)', () => {
  it.each(['csv', 'xlsx'] as const)(
    'stops a %s export midway, leaves no file under a final name and no temporary, and the run can be generated later',
    async (format) => {
      const { run } = await createRun({ programId: BIG_PROGRAM, format });
      const controller = new AbortController();
      let rowsAtAbort = 0;
      const attempt = generateRun(t, run.id, {
        storage,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.fileType === 'activity' && p.fileRows > 0 && !controller.signal.aborted) {
            rowsAtAbort = p.fileRows;
            controller.abort();
          }
        },
      });
      await expect(attempt).rejects.toBeInstanceOf(ExportAbortedError);
      expect(rowsAtAbort).toBeGreaterThan(0);
      expect(rowsAtAbort).toBeLessThan(400_000);
      expect(allFiles().filter((f) => f.startsWith(`${BIG_PROGRAM}/${run.id}/`))).toEqual([]);
      expect(await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id))).toEqual([]);
      // The pool is healthy: the cancelled COPY's connection came back.
      expect(await t.sql`select 1 as ok`).toEqual([{ ok: 1 }]);
      if (format === 'csv') {
        const later = await generateRun(t, run.id, { storage });
        expect(later.rowsTotal).toBe(400_000);
      }
    },
  );

  it('refuses to start when already aborted', async () => {
    const { run } = await createRun();
    const controller = new AbortController();
    controller.abort();
    await expect(generateRun(t, run.id, { storage, signal: controller.signal })).rejects.toBeInstanceOf(ExportAbortedError);
    expect(allFiles().filter((f) => f.includes(run.id))).toEqual([]);
  });
});
