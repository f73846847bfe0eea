import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, connections, exportRuns, programs } from '@/db/schema';
import type { UserActor } from '@/lib/auth/actor';
import {
  createConnection,
  deleteConnection,
  editConnection,
  pauseConnection,
  resumeConnection,
  settlePausing,
  startConnection,
  stopConnection,
} from '@/lib/connections/lifecycle';
import { createConnectionSchema, editConnectionSchema } from '@/lib/connections/schemas';
import { AppError } from '@/lib/http/errors';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
const admin: UserActor = {
  kind: 'user',
  accountId: null as unknown as string,
  email: 'ops@firstup.example',
  name: 'Ops',
  role: 'firstup_super_admin',
  mustChangePassword: false,
  programs: 'all',
  label: 'ops@firstup.example',
};

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.insert(programs).values([
    { id: 7, name: 'Seven' },
    { id: 8, name: 'Eight' },
  ]);
});
afterAll(async () => t?.drop());

const apiInput = () =>
  createConnectionSchema.parse({
    kind: 'api',
    frequency: 'daily',
    start_date: new Date(Date.now() + 86_400_000).toISOString(),
    contact_emails: ['Data@Example.com'],
  });

async function expectAppError(p: Promise<unknown>, code: string, message: RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  expect((err as AppError).message).toMatch(message);
}

describe('connection lifecycle', () => {
  it('creates an API connection, normalizes contacts and writes who did it to the Activity Log', async () => {
    const c = await createConnection(t, admin, 7, apiInput());
    expect(c.status).toBe('active');
    expect(c.contactEmails).toEqual(['data@example.com']);
    const log = await t.db.select().from(auditLog).where(eq(auditLog.targetId, c.id));
    expect(log.map((l) => [l.action, l.actorLabel])).toEqual([['connection.created', 'ops@firstup.example']]);
  });

  it('pauses after transfer as "pausing" while a run is in flight, and settles to paused when it ends', async () => {
    const c = await createConnection(t, admin, 7, apiInput());
    const [run] = await t.db
      .insert(exportRuns)
      .values({
        connectionId: c.id,
        programId: 7,
        exportType: 'incremental',
        windowStart: new Date('2026-01-01Z'),
        windowEnd: new Date('2026-01-02Z'),
        status: 'delivering',
      })
      .returning();
    const pausing = await pauseConnection(t, admin, 7, c.id, 'after_transfer');
    expect(pausing.status).toBe('pausing');
    await settlePausing(t.db, c.id);
    expect((await t.db.select().from(connections).where(eq(connections.id, c.id)))[0].status).toBe('pausing');
    await t.db.update(exportRuns).set({ status: 'delivered' }).where(eq(exportRuns.id, run.id));
    await settlePausing(t.db, c.id);
    expect((await t.db.select().from(connections).where(eq(connections.id, c.id)))[0].status).toBe('paused');
    const resumed = await resumeConnection(t, admin, 7, c.id);
    expect(resumed.status).toBe('active');
  });

  it('pauses immediately even while pausing after transfer', async () => {
    const c = await createConnection(t, admin, 7, apiInput());
    const paused = await pauseConnection(t, admin, 7, c.id, 'immediately');
    expect([paused.status, paused.pauseMode]).toEqual(['paused', 'immediately']);
    await expectAppError(pauseConnection(t, admin, 7, c.id, 'immediately'), 'conflict', /already paused/);
  });

  it('edits frequency, start date and contacts only while stopped', async () => {
    const c = await createConnection(t, admin, 7, apiInput());
    const edit = editConnectionSchema.parse({ frequency: 'weekly', contact_emails: ['a@b.co'] });
    await expectAppError(editConnection(t, admin, 7, c.id, edit), 'conflict', /Stop the connection before editing/);
    await stopConnection(t, admin, 7, c.id);
    const edited = await editConnection(t, admin, 7, c.id, edit);
    expect([edited.frequency, edited.contactEmails]).toEqual(['weekly', ['a@b.co']]);
    const started = await startConnection(t, admin, 7, c.id);
    expect(started.status).toBe('active');
    const actions = (await t.db.select().from(auditLog).where(eq(auditLog.targetId, c.id))).map((l) => l.action);
    expect(actions).toEqual(['connection.created', 'connection.stopped', 'connection.edited', 'connection.started']);
  });

  it('refuses changes to the destination with a message saying to delete and recreate', () => {
    const r = editConnectionSchema.safeParse({ host: 'other.example.com', folder: '/in' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message)).toEqual([
      'host cannot be changed. Delete this connection and create a new one with the new host.',
      'folder cannot be changed. Delete this connection and create a new one with the new folder.',
    ]);
  });

  it('treats another program’s connection as not found, and changes nothing', async () => {
    const c = await createConnection(t, admin, 7, apiInput());
    await expectAppError(stopConnection(t, admin, 8, c.id), 'not_found', /not found/);
    expect((await t.db.select().from(connections).where(eq(connections.id, c.id)))[0].status).toBe('active');
  });

  it('deletes a connection but keeps its history', async () => {
    const c = await createConnection(t, admin, 7, apiInput());
    await t.db.insert(exportRuns).values({
      connectionId: c.id,
      programId: 7,
      exportType: 'incremental',
      windowStart: new Date('2026-01-01Z'),
      windowEnd: new Date('2026-01-02Z'),
      status: 'available',
    });
    await deleteConnection(t, admin, 7, c.id);
    const [row] = await t.db.select().from(connections).where(eq(connections.id, c.id));
    expect(row.deletedAt).not.toBeNull();
    expect(await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, c.id))).toHaveLength(1);
    await expectAppError(resumeConnection(t, admin, 7, c.id), 'not_found', /not found/);
  });

  it('refuses a start date long in the past and points to historical requests', async () => {
    const input = createConnectionSchema.parse({
      kind: 'api',
      frequency: 'daily',
      start_date: '2020-01-01T00:00:00Z',
      contact_emails: ['a@b.co'],
    });
    await expectAppError(createConnection(t, admin, 7, input), 'validation_failed', /historical data request/);
  });
});
