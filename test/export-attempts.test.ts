// The export step's attempts are configured in one place (DDE_EXPORT_MAX_ATTEMPTS, counted by the
// run ledger): a run whose files cannot be written fails for good at that attempt, not before, and
// its contacts hear how many attempts were made.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRuns, notifications } from '@/db/schema';
import { createConnection } from '@/lib/connections/lifecycle';
import { createConnectionSchema } from '@/lib/connections/schemas';
import { resetEnv } from '@/lib/env';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { getStorage, setStorage, type Storage } from '@/lib/storage';
import { OPS_ADMIN, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let dataDir: string;
const PROGRAM = 84;
const until = new Date('2026-11-20T00:00:00Z');

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-attempts-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined, DDE_EXPORT_MAX_ATTEMPTS: '5' });
  setStorage(undefined);
  await seedProgram(t, { programId: PROGRAM, users: 20, campaigns: 2, events: 300, days: 1, seed: 3, until });
}, 120_000);
afterAll(async () => {
  resetEnv({ DDE_EXPORT_MAX_ATTEMPTS: undefined });
  setStorage(undefined);
  await t?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('export attempts', () => {
  it('fails a run whose files cannot be written at the configured attempt, and says how many were made', async () => {
    const input = createConnectionSchema.parse({
      kind: 'api',
      name: 'Five tries',
      frequency: 'daily',
      start_date: new Date(until.getTime() - 86_400_000).toISOString(),
      contact_emails: ['api-team@customer.example'],
    });
    const c = await createConnection(t, OPS_ADMIN, PROGRAM, input);
    await planWindows(t, { now: new Date(until.getTime() + 10 * 60_000), settleMs: 5 * 60_000 });
    const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, c.id)).orderBy(asc(exportRuns.windowStart));
    const real = getStorage();
    setStorage(Object.create(real, { put: { value: async () => Promise.reject(new Error('storage quota exceeded')) } }) as Storage);
    try {
      for (let i = 1; i < 5; i++) {
        await expect(executeExportRun(t, run.id)).rejects.toThrow('storage quota exceeded');
        expect((await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id)))[0]).toMatchObject({ status: 'planned', attempt: i });
      }
      expect((await executeExportRun(t, run.id)).status).toBe('failed');
    } finally {
      setStorage(undefined);
    }
    expect((await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id)))[0]).toMatchObject({ status: 'failed', attempt: 5 });
    const [report] = await t.db
      .select()
      .from(notifications)
      .where(and(eq(notifications.connectionId, c.id), eq(notifications.kind, 'delivery_report')));
    expect(report.body).toContain('could not be generated after 5 attempts');
  });
});
