// A historical request's progress is weighted by the work of its months, not their number (issue #30,
// item 6): 24 months of which only the last two hold data read as a few percent while those two are
// exported, not "22 of 24 months" (92 %). Each month is planned with the rows its window holds in the
// source (rows_expected), which the real export then writes; the upload counts by the bytes the
// destination acknowledged; the time left follows from the rate so far. Real PostgreSQL; the answers
// are the management API's, checked against its documented schema.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as historicalListRoute } from '@/app/api/v1/connections/[id]/historical-requests/route';
import { closeDatabase } from '@/db/client';
import { activityEvents, campaigns, connections, deliveries, exportRuns, members, type ExportRun } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createHistoricalRequest, createHistoricalRequestSchema, planHistoricalRequest, refreshHistoricalProgress } from '@/lib/historical';
import type { HistoricalRequest } from '@/lib/management/responses';
import { executeExportRun } from '@/lib/runs/export-run';
import { seedProgram } from '@/lib/seed';
import { setStorage } from '@/lib/storage';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, OPS_ADMIN, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let dataDir: string;
let cookie: string;
let connectionId: string;
const PROGRAM = 93;
/** The program's data: 45 days up to Oct 20, so only September and October 2026 hold rows. */
const until = new Date('2026-10-20T00:00:00Z');
const SEEDED = { users: 40, campaigns: 4, events: 2_000 };

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-historical-progress-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, ...SEEDED, days: 45, seed: 11, until });
  setClock(new Date('2026-11-28T10:00:00Z'));
  cookie = await sessionCookie(await createAccount(t.db, { role: 'firstup_super_admin' }));
  const [c] = await t.db
    .insert(connections)
    .values({
      programId: PROGRAM,
      kind: 'sftp',
      frequency: 'daily',
      startDate: new Date('2026-11-01T00:00:00Z'),
      sftpHost: 'sftp.example.com',
      sftpPort: 22,
      sftpUsername: 'acme',
      sftpFolder: 'incoming',
    })
    .returning();
  connectionId = c.id;
}, 120_000);

afterAll(async () => {
  resetClock();
  await closeDatabase();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function list(): Promise<HistoricalRequest[]> {
  const url = `/api/v1/connections/${connectionId}/historical-requests?program=${PROGRAM}`;
  const res = await historicalListRoute(request('GET', url, { cookie }), { params: Promise.resolve({ id: connectionId }) });
  await checkAnswer('GET', url, res);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: HistoricalRequest[] }).data;
}

/** What the source holds in [start, end): users and campaigns by update time, events by ingestion. */
async function sourceRows(from: Date, to: Date): Promise<number> {
  const [start, end] = [from.toISOString(), to.toISOString()];
  const [row] = await t.db.execute<{ n: number }>(sql`
    select (select count(*) from ${members} where ${members.programId} = ${PROGRAM} and ${members.updatedAt} >= ${start} and ${members.updatedAt} < ${end})
         + (select count(*) from ${campaigns} where ${campaigns.programId} = ${PROGRAM} and ${campaigns.updatedAt} >= ${start} and ${campaigns.updatedAt} < ${end})
         + (select count(*) from ${activityEvents} where ${activityEvents.programId} = ${PROGRAM} and ${activityEvents.ingestedAt} >= ${start} and ${activityEvents.ingestedAt} < ${end})
      as n`);
  return Number(row.n);
}

const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 10, 0, s));

describe('a historical request’s progress', () => {
  it('is weighted by rows and bytes, with the time left: 22 empty months of 24 are not 92 %', async () => {
    const created = await createHistoricalRequest(
      t,
      OPS_ADMIN,
      PROGRAM,
      connectionId,
      createHistoricalRequestSchema.parse({ from: '2024-11-28' }),
    );
    await planHistoricalRequest(t, created.id);
    const runs = await t.db
      .select()
      .from(exportRuns)
      .where(eq(exportRuns.historicalRequestId, created.id))
      .orderBy(asc(exportRuns.windowStart));
    expect(runs).toHaveLength(24);

    // Each month is planned with what its window holds in the source now.
    for (const r of runs) expect(r.rowsExpected, r.windowStart.toISOString()).toBe(await sourceRows(r.windowStart, r.windowEnd));
    const withData = runs.filter((r) => r.rowsExpected! > 0);
    expect(withData.map((r) => r.windowStart.toISOString().slice(0, 7))).toEqual(['2026-09', '2026-10']);
    const expected = SEEDED.users + SEEDED.campaigns + SEEDED.events;
    expect(withData.reduce((s, r) => s + r.rowsExpected!, 0)).toBe(expected);

    let [h] = await list();
    expect(h.progress).toEqual({
      percent: 0,
      rows_exported: 0,
      rows_expected: expected,
      bytes_uploaded: 0,
      bytes_to_upload: 0,
      eta_seconds: null,
    });

    // The 22 empty months are done in 10 s; September is being exported: 500 rows written after 20 s.
    const [sep, oct] = withData;
    const empty = runs.filter((r) => r.rowsExpected === 0);
    for (const r of empty) {
      await t.db
        .update(exportRuns)
        .set({ status: 'empty', startedAt: at(0), finishedAt: at(10) })
        .where(eq(exportRuns.id, r.id));
    }
    await t.db
      .update(exportRuns)
      .set({ status: 'generating', attempt: 1, rowsWritten: 500, startedAt: at(0), progressAt: at(20) })
      .where(eq(exportRuns.id, sep.id));
    await refreshHistoricalProgress(t.db, created.id);
    [h] = await list();
    expect([h.status, h.chunks_done, h.chunks_total]).toEqual(['running', 22, 24]);
    // One unit per month, and each month's rows twice (exported, uploaded).
    const total = 24 + 2 * expected;
    const done = 22 + 500;
    expect(h.progress).toMatchObject({ percent: Math.floor((100 * done) / total), rows_exported: 500, rows_expected: expected });
    expect(h.progress!.percent).toBeLessThan(15);
    // Nothing uploaded yet: how fast the export goes says nothing of the network, so no time left yet.
    expect(h.progress!.eta_seconds).toBeNull();

    // The real export writes what the estimate said; both months wait for their upload: half the work.
    await t.db.update(exportRuns).set({ status: 'planned', attempt: 0, rowsWritten: 0, progressAt: null }).where(eq(exportRuns.id, sep.id));
    for (const r of [sep, oct]) expect(await executeExportRun(t, r.id)).toMatchObject({ status: 'generated', rows: r.rowsExpected });
    const exported = new Map(
      (await t.db.select().from(exportRuns).where(eq(exportRuns.historicalRequestId, created.id))).map((r) => [r.id, r] as const),
    );
    const bytesOf = (r: ExportRun) => exported.get(r.id)!.bytesTotal;
    [h] = await list();
    expect(h.progress).toMatchObject({
      percent: Math.floor((100 * (24 + expected)) / total),
      rows_exported: expected,
      rows_expected: expected,
      bytes_uploaded: 0,
      bytes_to_upload: bytesOf(sep) + bytesOf(oct),
    });

    // Both exported 30 s in; September's upload starts then: a quarter of its bytes acknowledged 10 s later.
    for (const r of [sep, oct]) {
      await t.db
        .update(exportRuns)
        .set({ startedAt: at(20), progressAt: at(29), generatedAt: at(30), finishedAt: null })
        .where(eq(exportRuns.id, r.id));
    }
    await t.db
      .update(exportRuns)
      .set({ status: 'delivering', claim: sql`${exportRuns.claim} + 1` })
      .where(eq(exportRuns.id, sep.id));
    const quarter = Math.floor(bytesOf(sep) / 4);
    await t.db.insert(deliveries).values({
      runId: sep.id,
      connectionId,
      programId: PROGRAM,
      destination: 'acme@sftp.example.com:22, folder incoming',
      attempt: 1,
      trigger: 'schedule',
      bytesDone: quarter,
      bytesTotal: bytesOf(sep),
      startedAt: at(30),
      progressAt: at(40),
    });
    [h] = await list();
    const uploaded = sep.rowsExpected! * (quarter / bytesOf(sep));
    expect(h.progress).toMatchObject({
      percent: Math.floor((100 * (24 + expected + uploaded)) / total),
      bytes_uploaded: Math.round(bytesOf(sep) * (quarter / bytesOf(sep))),
    });
    // The export is done; the rest of the upload at the upload's rate so far (since its attempt started).
    expect(h.progress!.eta_seconds).toBe(Math.ceil((expected - uploaded) / (uploaded / 10)));
    expect(h.months_in_progress.map((m) => m.run_id)).toEqual([sep.id]);

    // Every month delivered: done, nothing left.
    await t.db
      .update(deliveries)
      .set({ status: 'succeeded', finishedAt: sql`now()` })
      .where(eq(deliveries.runId, sep.id));
    await t.db
      .update(exportRuns)
      .set({ status: 'delivered', finishedAt: sql`now()` })
      .where(and(eq(exportRuns.historicalRequestId, created.id), eq(exportRuns.exportType, 'historical'), sql`status <> 'empty'`));
    await refreshHistoricalProgress(t.db, created.id);
    [h] = await list();
    expect(h.status).toBe('completed');
    expect(h.progress).toMatchObject({
      percent: 100,
      rows_exported: expected,
      bytes_uploaded: bytesOf(sep) + bytesOf(oct),
      eta_seconds: null,
    });
  });
});
