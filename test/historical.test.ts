import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connections, exportRuns, historicalRequests, programs } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import {
  cancelHistoricalRequest,
  createHistoricalRequest,
  createHistoricalRequestSchema,
  planHistoricalRequest,
  refreshHistoricalProgress,
} from '@/lib/historical';
import { AppError } from '@/lib/http/errors';
import { retryRun } from '@/lib/runs/retry';
import { OPS_ADMIN } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let connectionId: string;
const admin = OPS_ADMIN;

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.insert(programs).values({ id: 5, name: 'Five' });
  const [c] = await t.db
    .insert(connections)
    .values({ programId: 5, kind: 'api', frequency: 'daily', startDate: new Date('2026-11-01T00:00:00Z') })
    .returning();
  connectionId = c.id;
  setClock(new Date('2026-11-28T10:00:00Z'));
});
afterEach(() => setClock(new Date('2026-11-28T10:00:00Z')));
afterAll(async () => {
  resetClock();
  await t?.drop();
});

const input = (v: unknown) => createHistoricalRequestSchema.parse(v);

describe('historical data requests', () => {
  it('refuses a range reaching back more than 24 months, naming the limit and the earliest start', async () => {
    const err = await createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2024-11-01' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(422);
    expect((err as AppError).message).toBe(
      'From 2024-11-01 is more than 24 months back: historical data reaches back to 2024-11-28 at the earliest.',
    );
    expect(await t.db.select().from(historicalRequests)).toHaveLength(0);
  });

  it('splits the range up to the connection’s start date into monthly chunks of export type historical', async () => {
    const r = await createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2026-08-15' }));
    expect(r.chunksTotal).toBe(3);
    const ids = await planHistoricalRequest(t, r.id);
    expect(ids).toHaveLength(3);
    const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.historicalRequestId, r.id)).orderBy(exportRuns.windowStart);
    expect(runs.map((x) => [x.exportType, x.windowStart.toISOString().slice(0, 10), x.windowEnd.toISOString().slice(0, 10)])).toEqual([
      ['historical', '2026-08-15', '2026-09-01'],
      ['historical', '2026-09-01', '2026-10-01'],
      ['historical', '2026-10-01', '2026-11-01'],
    ]);
    // Planning again changes nothing.
    await planHistoricalRequest(t, r.id);
    expect(await t.db.select().from(exportRuns).where(eq(exportRuns.historicalRequestId, r.id))).toHaveLength(3);

    await t.db.update(exportRuns).set({ status: 'available', rowsTotal: 100 }).where(eq(exportRuns.id, ids[0]));
    await refreshHistoricalProgress(t.db, r.id);
    let [p] = await t.db.select().from(historicalRequests).where(eq(historicalRequests.id, r.id));
    expect([p.status, p.chunksDone, p.chunksTotal, p.rowsExported]).toEqual(['running', 1, 3, 100]);
    await t.db.update(exportRuns).set({ status: 'empty' }).where(eq(exportRuns.historicalRequestId, r.id));
    await refreshHistoricalProgress(t.db, r.id);
    [p] = await t.db.select().from(historicalRequests).where(eq(historicalRequests.id, r.id));
    expect([p.status, p.chunksDone]).toEqual(['completed', 3]);
  });

  it('is planned once: a second planner (ticks run side by side) leaves a chunk that is being exported alone', async () => {
    const r = await createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2025-05-01', to: '2025-06-30' }));
    const [first] = await planHistoricalRequest(t, r.id);
    await t.db.update(exportRuns).set({ status: 'generating', attempt: 1 }).where(eq(exportRuns.id, first));
    expect(await planHistoricalRequest(t, r.id)).toEqual([]);
    const [run] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, first));
    expect([run.status, run.attempt]).toEqual(['generating', 1]);
  });

  it('cancels a request: chunks not yet started are cancelled and it cannot be cancelled twice', async () => {
    const r = await createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2025-01-01', to: '2025-03-31' }));
    await planHistoricalRequest(t, r.id);
    const cancelled = await cancelHistoricalRequest(t, admin, 5, r.id);
    expect(cancelled.status).toBe('cancelled');
    const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.historicalRequestId, r.id));
    expect(runs.map((x) => x.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    await expect(cancelHistoricalRequest(t, admin, 5, r.id)).rejects.toThrow(/already been cancelled/);
    await expect(cancelHistoricalRequest(t, admin, 6, r.id)).rejects.toThrow(/not found/);
  });

  it('a failed chunk retried from the event history reopens its request, which completes once that chunk is delivered', async () => {
    const r = await createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2026-06-01', to: '2026-07-31' }));
    const [first, second] = await planHistoricalRequest(t, r.id);
    await t.db.update(exportRuns).set({ status: 'delivered', rowsTotal: 7 }).where(eq(exportRuns.id, first));
    await t.db
      .update(exportRuns)
      .set({ status: 'failed', errorCode: 'folder_missing', errorMessage: 'The destination folder does not exist.' })
      .where(eq(exportRuns.id, second));
    await refreshHistoricalProgress(t.db, r.id);
    const read = async () => (await t.db.select().from(historicalRequests).where(eq(historicalRequests.id, r.id)))[0];
    let p = await read();
    expect([p.status, p.chunksDone, p.error]).toEqual(['failed', 2, '1 of 2 months failed; see the event history']);

    // No files were generated for it, so the retry exports again; the request is running again.
    expect(await retryRun(t, admin, 5, second)).toEqual({ next: 'export' });
    p = await read();
    expect([p.status, p.error, p.finishedAt]).toEqual(['running', null, null]);
    await refreshHistoricalProgress(t.db, r.id);
    expect((await read()).chunksDone).toBe(1);

    await t.db.update(exportRuns).set({ status: 'delivered', rowsTotal: 5 }).where(eq(exportRuns.id, second));
    await refreshHistoricalProgress(t.db, r.id);
    p = await read();
    expect([p.status, p.chunksDone, p.rowsExported, p.error]).toEqual(['completed', 2, 12, null]);
    expect(p.finishedAt).not.toBeNull();
  });

  it('exports the To day whole: Oct 10 → Nov 27 ends at Nov 28 00:00 UTC, in two monthly chunks', async () => {
    const r = await createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2026-10-10', to: '2026-11-27' }));
    expect([r.rangeStart.toISOString(), r.rangeEnd.toISOString(), r.chunksTotal]).toEqual([
      '2026-10-10T00:00:00.000Z',
      '2026-11-28T00:00:00.000Z',
      2,
    ]);
  });

  it('refuses an end in the future or before the start', async () => {
    await expect(createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2026-01-01', to: '2026-12-31' }))).rejects.toThrow(
      'To 2026-12-31 is not over yet: the latest To is 2026-11-27 (the last whole day, UTC).',
    );
    await expect(createHistoricalRequest(t, admin, 5, connectionId, input({ from: '2026-03-01', to: '2026-02-01' }))).rejects.toThrow(
      'To 2026-02-01 is before From 2026-03-01: pick a To on or after the From.',
    );
  });
});
