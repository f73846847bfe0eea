// No row lost to a late commit: an event inserted inside a window by a transaction that is still open
// when the window is planned (its window closed and settled) reaches the window's file once that
// transaction commits; the export waits for it, within a bound, and says so when the bound is passed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { and, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, connections, exportFiles, exportRuns, programs } from '@/db/schema';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { LocalStorage, setStorage } from '@/lib/storage';
import { resetEnv } from '@/lib/env';
import { useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { parseCsv } from './exports/fixtures';

const PROGRAM = 7301;
let t: TestDatabase;
let root: string;
let storage: LocalStorage;

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-late-'));
  storage = new LocalStorage(root);
  setStorage(storage);
  await t.db.insert(programs).values({ id: PROGRAM, name: 'Late commits' });
});
afterAll(async () => {
  setStorage(undefined);
  resetEnv();
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The event ids in a run's activity files. */
async function eventIdsOf(runId: string): Promise<string[]> {
  const files = await t.db
    .select()
    .from(exportFiles)
    .where(and(eq(exportFiles.runId, runId), eq(exportFiles.fileType, 'activity')));
  const ids: string[] = [];
  for (const f of files) {
    const [header, ...rows] = parseCsv(gunzipSync(readFileSync(storage.localPath(f.storageKey))).toString('utf8'));
    ids.push(...rows.map((r) => r[header.indexOf('Event ID')]!));
  }
  return ids;
}

async function runOf(connectionId: string, windowStart: Date) {
  const [run] = await t.db
    .select()
    .from(exportRuns)
    .where(and(eq(exportRuns.connectionId, connectionId), eq(exportRuns.windowStart, windowStart)));
  return run;
}

async function apiConnection(startDate: Date) {
  const [c] = await t.db
    .insert(connections)
    .values({ programId: PROGRAM, kind: 'api', frequency: 'daily', startDate, format: 'csv' })
    .returning();
  return c;
}

const event = (ingestedAt: string) => ({
  program_id: PROGRAM,
  content_id: 1,
  user_id: 1,
  event_type: 'impression',
  platform: 'web',
  occurred_at: ingestedAt,
  ingested_at: ingestedAt,
});

describe('a transaction that commits after its window closed', () => {
  it('holds the export until it commits; its event is then in the window exactly once', async () => {
    const start = new Date('2026-06-01T00:00:00Z');
    const end = new Date('2026-06-02T00:00:00Z');
    const conn = await apiConnection(start);
    await t.sql`insert into activity_events ${t.sql(event('2026-06-01T10:00:00Z'))}`;

    // A slow writer: inserted a minute before the boundary, not yet committed.
    const writer = postgres(t.url, { max: 1, onnotice: () => undefined });
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let lateId = '';
    let inserted!: () => void;
    const insertedP = new Promise<void>((resolve) => (inserted = resolve));
    const writing = writer.begin(async (tx) => {
      const [row] = await tx<{ id: string }[]>`insert into activity_events ${tx(event('2026-06-01T23:59:00Z'))} returning id::text`;
      lateId = row.id;
      inserted();
      await committed;
    });
    await insertedP;

    try {
      // The window has closed and settled: it is planned while the writer is still open.
      await planWindows(t, { now: new Date(end.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
      const run = await runOf(conn.id, start);
      expect(run.status).toBe('planned');

      const held = await executeExportRun(t, run.id);
      expect(held.status).toBe('waiting');
      expect((await runOf(conn.id, start)).status).toBe('planned');
      expect(await t.db.select().from(exportFiles).where(eq(exportFiles.runId, run.id))).toEqual([]);

      commit();
      await writing;
      const done = await executeExportRun(t, run.id);
      expect(done.status).toBe('available');
      const ids = await eventIdsOf(run.id);
      expect(ids.filter((id) => id === lateId)).toHaveLength(1);
      expect(ids).toHaveLength(2);
    } finally {
      commit();
      await writing.catch(() => undefined);
      await writer.end();
    }
  });

  it('is not held back by read-only transactions nor by writers in other databases', async () => {
    const start = new Date('2026-07-01T00:00:00Z');
    const conn = await apiConnection(start);
    await t.sql`insert into activity_events ${t.sql(event('2026-07-01T08:00:00Z'))}`;
    const other = await createTestDatabase();
    const reader = postgres(t.url, { max: 1, onnotice: () => undefined });
    const elsewhere = postgres(other.url, { max: 1, onnotice: () => undefined });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let opened = 0;
    let bothOpen!: () => void;
    const bothOpenP = new Promise<void>((resolve) => (bothOpen = resolve));
    const hold = (db: postgres.Sql, first: (tx: postgres.TransactionSql) => Promise<unknown>) =>
      db.begin(async (tx) => {
        await first(tx);
        if (++opened === 2) bothOpen();
        await released;
      });
    const reading = hold(reader, (tx) => tx`select count(*) from activity_events`);
    const writing = hold(elsewhere, (tx) => tx`insert into programs (id, name) values (1, 'Elsewhere')`);
    await bothOpenP;
    try {
      await planWindows(t, { now: new Date('2026-07-02T00:10:00Z'), settleMs: 5 * 60_000 });
      const run = await runOf(conn.id, start);
      const outcome = await executeExportRun(t, run.id);
      expect(outcome.status).toBe('available');
      expect(await eventIdsOf(run.id)).toHaveLength(1);
    } finally {
      release();
      await Promise.all([reading, writing]);
      await reader.end();
      await elsewhere.end();
      await other.drop();
    }
  });

  it('goes ahead after the bounded wait, and the Activity Log says why', async () => {
    useTestEnv(t, { DDE_OPEN_TRANSACTION_WAIT_SECONDS: '0' });
    const start = new Date('2026-08-01T00:00:00Z');
    const conn = await apiConnection(start);
    await t.sql`insert into activity_events ${t.sql(event('2026-08-01T08:00:00Z'))}`;
    const writer = postgres(t.url, { max: 1, onnotice: () => undefined });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let opened!: () => void;
    const openedP = new Promise<void>((resolve) => (opened = resolve));
    const writing = writer.begin(async (tx) => {
      await tx`insert into activity_events ${tx(event('2026-08-01T23:00:00Z'))}`;
      opened();
      await released;
      throw new Error('rolled back on purpose');
    });
    await openedP;
    try {
      await planWindows(t, { now: new Date('2026-08-02T00:10:00Z'), settleMs: 5 * 60_000 });
      const run = await runOf(conn.id, start);
      const outcome = await executeExportRun(t, run.id);
      expect(outcome.status).toBe('available');
      expect(await eventIdsOf(run.id)).toHaveLength(1);
      const entries = await t.db.select().from(auditLog).where(eq(auditLog.targetId, run.id));
      expect(entries.map((e) => e.action)).toEqual(['run.open_transaction_wait_exceeded']);
      expect((entries[0].details as { message: string }).message).toMatch(/was still open after 0 minutes/);
    } finally {
      release();
      await writing.catch(() => undefined);
      await writer.end();
      useTestEnv(t);
    }
  });
});
