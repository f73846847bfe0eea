import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '@/db/client';
import { connections, exportRuns, programs } from '@/db/schema';
import { planIncrementalRuns } from '@/db/queries/run-ledger';
import { planWindows } from '@/lib/scheduling/planner';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.insert(programs).values({ id: 3, name: 'Three' });
});
afterAll(async () => t?.drop());

const settleMs = 5 * 60_000;

async function connection(values: Partial<typeof connections.$inferInsert>) {
  const [c] = await t.db
    .insert(connections)
    .values({ programId: 3, kind: 'api', frequency: 'every_4_hours', startDate: new Date('2026-11-01T10:00:00Z'), ...values })
    .returning();
  return c;
}
const windowsOf = async (id: string) =>
  (await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, id)).orderBy(exportRuns.windowStart)).map((r) => [
    r.windowStart.toISOString(),
    r.windowEnd.toISOString(),
  ]);

describe('planner', () => {
  it('plans every closed window from the start date, the first one short when the start is not aligned', async () => {
    const c = await connection({});
    await planWindows(t, { now: new Date('2026-11-01T20:05:00Z'), settleMs });
    expect(await windowsOf(c.id)).toEqual([
      ['2026-11-01T10:00:00.000Z', '2026-11-01T12:00:00.000Z'],
      ['2026-11-01T12:00:00.000Z', '2026-11-01T16:00:00.000Z'],
      ['2026-11-01T16:00:00.000Z', '2026-11-01T20:00:00.000Z'],
    ]);
  });

  it('waits for the settle delay after a window closes', async () => {
    const c = await connection({ startDate: new Date('2026-11-02T00:00:00Z') });
    await planWindows(t, { now: new Date('2026-11-02T04:04:59Z'), settleMs });
    expect(await windowsOf(c.id)).toEqual([]);
    await planWindows(t, { now: new Date('2026-11-02T04:05:00Z'), settleMs });
    expect(await windowsOf(c.id)).toHaveLength(1);
  });

  it('gives two planners running at once exactly one run per window', async () => {
    const c = await connection({ frequency: 'daily', startDate: new Date('2026-10-01T00:00:00Z') });
    const other = createDb(t.url, { max: 2 });
    try {
      const now = new Date('2026-11-01T00:10:00Z');
      await Promise.all([planWindows(t, { now, settleMs, batchSize: 1 }), planWindows(other, { now, settleMs, batchSize: 1 })]);
    } finally {
      await other.sql.end();
    }
    const w = await windowsOf(c.id);
    expect(w).toHaveLength(31);
    expect(new Set(w.map((x) => x[0])).size).toBe(31);
  });

  it('skips a paused connection and catches up every missed window once it is active again', async () => {
    const c = await connection({ frequency: 'daily', startDate: new Date('2026-11-01T00:00:00Z') });
    await planWindows(t, { now: new Date('2026-11-02T01:00:00Z'), settleMs });
    await t.db.update(connections).set({ status: 'paused' }).where(eq(connections.id, c.id));
    await planWindows(t, { now: new Date('2026-11-06T01:00:00Z'), settleMs });
    expect(await windowsOf(c.id)).toHaveLength(1);
    await t.db.update(connections).set({ status: 'active' }).where(eq(connections.id, c.id));
    await planWindows(t, { now: new Date('2026-11-06T01:00:00Z'), settleMs });
    const w = await windowsOf(c.id);
    expect(w.map((x) => x[0].slice(0, 10))).toEqual(['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05']);
  });

  it('honours the end date: the last window is cut short and the connection ends', async () => {
    const c = await connection({
      frequency: 'weekly',
      startDate: new Date('2026-11-02T00:00:00Z'),
      endDate: new Date('2026-11-12T12:00:00Z'),
    });
    await planWindows(t, { now: new Date('2026-12-01T00:00:00Z'), settleMs });
    expect(await windowsOf(c.id)).toEqual([
      ['2026-11-02T00:00:00.000Z', '2026-11-09T00:00:00.000Z'],
      ['2026-11-09T00:00:00.000Z', '2026-11-12T12:00:00.000Z'],
    ]);
    const [row] = await t.db.select().from(connections).where(eq(connections.id, c.id));
    expect(row.status).toBe('ended');
  });

  it('continues contiguously from where it stopped after the frequency changes', async () => {
    const c = await connection({ frequency: 'daily', startDate: new Date('2026-11-01T00:00:00Z') });
    await planWindows(t, { now: new Date('2026-11-02T00:10:00Z'), settleMs });
    await t.db.update(connections).set({ frequency: 'every_4_hours' }).where(eq(connections.id, c.id));
    await planWindows(t, { now: new Date('2026-11-02T08:10:00Z'), settleMs });
    expect(await windowsOf(c.id)).toEqual([
      ['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z'],
      ['2026-11-02T00:00:00.000Z', '2026-11-02T04:00:00.000Z'],
      ['2026-11-02T04:00:00.000Z', '2026-11-02T08:00:00.000Z'],
    ]);
  });

  it('plans a long-idle connection in batches, oldest first, until it has caught up', async () => {
    const c = await connection({ frequency: 'every_4_hours', startDate: new Date('2026-10-01T00:00:00Z') });
    const now = new Date('2026-11-01T00:10:00Z');
    const first = await planWindows(t, { now, settleMs, maxWindowsPerConnection: 100 });
    expect(first.newRunIds.length).toBeGreaterThanOrEqual(100);
    await planWindows(t, { now, settleMs, maxWindowsPerConnection: 100 });
    expect(await windowsOf(c.id)).toHaveLength(31 * 6);
  });
  it('stores the planning transaction id on every run, and refuses a run whose program is not its connection’s', async () => {
    const c = await connection({ frequency: 'daily', startDate: new Date('2026-11-10T00:00:00Z') });
    await planWindows(t, { now: new Date('2026-11-13T00:10:00Z'), settleMs });
    const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, c.id));
    expect(runs).toHaveLength(3);
    // One planning transaction: one id, on each of its runs.
    expect(new Set(runs.map((r) => r.plannedXid)).size).toBe(1);
    expect(runs[0].plannedXid).toBeGreaterThan(0);

    await t.db.insert(programs).values({ id: 4, name: 'Four' });
    await expect(
      planIncrementalRuns(t.db, [
        { connectionId: c.id, programId: 4, windowStart: new Date('2026-11-20T00:00:00Z'), windowEnd: new Date('2026-11-21T00:00:00Z') },
      ]),
    ).rejects.toMatchObject({ cause: { constraint_name: 'export_runs_connection_program_fk' } });
    expect(await windowsOf(c.id)).toHaveLength(3);
  });
});
