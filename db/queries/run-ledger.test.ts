// The run ledger against the lifecycle of docs/architecture.md ("Runs"): for every state a run can
// be in and every transition, the run is put into that state and the transition either moves it to
// the state the lifecycle names or is refused with a typed answer that changes nothing. The
// expectations below are written out by hand from the lifecycle, not read from the ledger.
import { desc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, deliveries, exportRuns, historicalRequests, programs, RUN_STATUSES, type RunStatus } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import { createTestDatabase, type TestDatabase } from '@/test/helpers/db';
import * as ledger from './run-ledger';

let t: TestDatabase;
let sftpConnection: string;
let apiConnection: string;
let requestA: string;
let requestB: string;
const PROGRAM = 91;

beforeAll(async () => {
  t = await createTestDatabase();
  // Any use of the application clock for a ledger timestamp would show up as the year 2001.
  setClock(new Date('2001-01-01T00:00:00Z'));
  await t.db.insert(programs).values({ id: PROGRAM, name: 'Ledger' });
  const made = await t.db
    .insert(connections)
    .values([
      { programId: PROGRAM, kind: 'sftp', frequency: 'daily', startDate: new Date('2099-01-01T00:00:00Z') },
      { programId: PROGRAM, kind: 'api', frequency: 'daily', startDate: new Date('2099-01-01T00:00:00Z') },
    ])
    .returning();
  [sftpConnection, apiConnection] = made.map((c) => c.id);
  const requests = await t.db
    .insert(historicalRequests)
    .values([
      {
        programId: PROGRAM,
        connectionId: sftpConnection,
        rangeStart: new Date('2019-01-01'),
        rangeEnd: new Date('2019-02-01'),
        status: 'running',
      },
      {
        programId: PROGRAM,
        connectionId: sftpConnection,
        rangeStart: new Date('2019-01-01'),
        rangeEnd: new Date('2019-02-01'),
        status: 'running',
      },
    ])
    .returning();
  [requestA, requestB] = requests.map((r) => r.id);
});

afterAll(async () => {
  resetClock();
  await t?.drop();
});

type Run = { id: string; windowStart: Date; windowEnd: Date; deliveryId: string };
type Setup = { exportType?: 'incremental' | 'historical'; request?: 'A'; stale?: boolean; connection?: 'api' };

let day = 0;
/** A run in `status` (with a running delivery attempt, which only a delivering run should have but the guards must not trust). */
async function runIn(status: RunStatus, s: Setup = {}): Promise<Run> {
  const windowStart = new Date(Date.UTC(2020, 0, 1) + day++ * 86_400_000);
  const windowEnd = new Date(windowStart.getTime() + 86_400_000);
  const connectionId = s.connection === 'api' ? apiConnection : sftpConnection;
  const [run] = await t.db
    .insert(exportRuns)
    .values({
      connectionId,
      programId: PROGRAM,
      exportType: s.exportType ?? 'incremental',
      historicalRequestId: s.request ? requestA : null,
      windowStart,
      windowEnd,
      status,
      attempt: 1,
      updatedAt: s.stale ? sql`now() - interval '1 hour'` : sql`now() - interval '10 seconds'`,
    })
    .returning();
  const [delivery] = await t.db
    .insert(deliveries)
    .values({ runId: run.id, connectionId, programId: PROGRAM, destination: 'sftp://test', attempt: 1, status: 'running' })
    .returning();
  return { id: run.id, windowStart, windowEnd, deliveryId: delivery.id };
}

type Outcome = { ok: boolean; result: unknown };
type Transition = {
  name: string;
  /** from → to, as the lifecycle allows it; every other state is refused. */
  moves: Partial<Record<RunStatus, RunStatus>>;
  /** What the run's running delivery attempt becomes when the transition happens from that state. */
  attempt?: Partial<Record<RunStatus, 'succeeded' | 'failed' | 'aborted'>>;
  setup?: Setup;
  /** The transition writes a delivery attempt, not the run. */
  newAttempt?: true;
  act: (run: Run) => Promise<Outcome>;
};

const single = (f: (run: Run) => Promise<{ ok: boolean }>) => async (run: Run) => {
  const result = await f(run);
  return { ok: result.ok, result };
};
const listed = (f: (run: Run) => Promise<string[]>) => async (run: Run) => {
  const ids = await f(run);
  return { ok: ids.includes(run.id), result: ids };
};

const TRANSITIONS: Transition[] = [
  {
    name: 'plan (incremental) of a window already in the ledger',
    moves: {},
    act: listed((r) =>
      ledger.planIncrementalRuns(t.db, [
        { connectionId: sftpConnection, programId: PROGRAM, windowStart: r.windowStart, windowEnd: r.windowEnd },
      ]),
    ),
  },
  {
    name: 'plan (historical) for another request',
    moves: {
      planned: 'planned',
      generated: 'planned',
      delivered: 'planned',
      available: 'planned',
      empty: 'planned',
      failed: 'planned',
      cancelled: 'planned',
    },
    setup: { exportType: 'historical', request: 'A' },
    act: listed((r) =>
      ledger.planHistoricalRuns(t.db, requestB, [
        { connectionId: sftpConnection, programId: PROGRAM, windowStart: r.windowStart, windowEnd: r.windowEnd },
      ]),
    ),
  },
  {
    name: 'plan (historical) again for its own request',
    moves: Object.fromEntries(RUN_STATUSES.map((s) => [s, 'planned'])),
    setup: { exportType: 'historical', request: 'A' },
    act: listed((r) =>
      ledger.planHistoricalRuns(t.db, requestA, [
        { connectionId: sftpConnection, programId: PROGRAM, windowStart: r.windowStart, windowEnd: r.windowEnd },
      ]),
    ),
  },
  { name: 'claim for export', moves: { planned: 'generating' }, act: single((r) => ledger.claimRunForExport(t.db, r.id)) },
  {
    name: 'heartbeat',
    moves: { generating: 'generating', delivering: 'delivering' },
    act: single((r) => ledger.beatRunHeartbeat(t.db, r.id)),
  },
  {
    name: 'progress (export)',
    moves: { generating: 'generating' },
    act: single((r) => ledger.recordExportProgress(t.db, r.id, { attempt: 1, rowsWritten: 1234 })),
  },
  {
    name: 'progress (delivery)',
    moves: { delivering: 'delivering' },
    act: single((r) => ledger.recordDeliveryProgress(t.db, r.id, r.deliveryId, { bytesDone: 10, bytesTotal: 100 })),
  },
  {
    name: 'record files',
    moves: { planned: 'planned', generating: 'generating' },
    act: single((r) =>
      ledger.recordRunFiles(
        t.db,
        { id: r.id, programId: PROGRAM },
        { rowsTotal: 5, bytesTotal: 50, filesCount: 1, generatedAt: new Date() },
      ),
    ),
  },
  {
    name: 'finish export (SFTP: generated)',
    moves: { generating: 'generated' },
    act: single((r) => ledger.finishRunExport(t.db, r.id, 'generated')),
  },
  {
    name: 'finish export (API: available)',
    moves: { generating: 'available' },
    act: single((r) => ledger.finishRunExport(t.db, r.id, 'available')),
  },
  {
    name: 'finish export (no rows: empty)',
    moves: { generating: 'empty' },
    act: single((r) => ledger.finishRunExport(t.db, r.id, 'empty')),
  },
  { name: 'hand back (export)', moves: { generating: 'planned' }, act: single((r) => ledger.handBackRunExport(t.db, r.id)) },
  { name: 'cancel (export)', moves: { generating: 'cancelled' }, act: single((r) => ledger.cancelRunExport(t.db, r.id)) },
  {
    name: 'fail (export) with attempts left',
    moves: { generating: 'planned' },
    act: single((r) => ledger.failRunExport(t.db, r.id, { message: 'boom', final: false })),
  },
  {
    name: 'fail (export) for good',
    moves: { generating: 'failed' },
    act: single((r) => ledger.failRunExport(t.db, r.id, { message: 'boom', final: true })),
  },
  { name: 'claim for delivery', moves: { generated: 'delivering' }, act: single((r) => ledger.claimRunForDelivery(t.db, r.id)) },
  {
    name: 'record attempt',
    moves: { delivering: 'delivering' },
    newAttempt: true,
    act: single((r) => ledger.recordDeliveryAttempt(t.db, r.id, { destination: 'sftp://test', trigger: 'manual' })),
  },
  {
    name: 'delivered',
    moves: { delivering: 'delivered' },
    attempt: { delivering: 'succeeded' },
    act: single((r) => ledger.markRunDelivered(t.db, r.id, r.deliveryId, { files: 3, bytes: 300 })),
  },
  {
    name: 'schedule retry',
    moves: { delivering: 'generated' },
    attempt: { delivering: 'failed' },
    act: single((r) => ledger.scheduleDeliveryRetry(t.db, r.id, r.deliveryId, { code: 'timeout', message: 'slow', retryInSeconds: 30 })),
  },
  {
    name: 'fail (delivery)',
    moves: { delivering: 'failed' },
    attempt: { delivering: 'failed' },
    act: single((r) => ledger.failRunDelivery(t.db, r.id, r.deliveryId, { code: 'permission_denied', message: 'no', retryable: false })),
  },
  {
    name: 'hand back (delivery)',
    moves: { delivering: 'generated' },
    attempt: { delivering: 'aborted' },
    act: single((r) => ledger.handBackRunDelivery(t.db, r.id, r.deliveryId, 'paused')),
  },
  {
    name: 'cancel (delivery)',
    moves: { delivering: 'cancelled' },
    attempt: { delivering: 'aborted' },
    act: single((r) => ledger.cancelRunDelivery(t.db, r.id, r.deliveryId, 'cancelled')),
  },
  { name: 'retry (deliver again)', moves: { failed: 'generated' }, act: single((r) => ledger.retryFailedRun(t.db, r.id, 'generated')) },
  { name: 'retry (export again)', moves: { failed: 'planned' }, act: single((r) => ledger.retryFailedRun(t.db, r.id, 'planned')) },
  {
    name: 'cancel (its historical request)',
    moves: { planned: 'cancelled', generated: 'cancelled' },
    setup: { exportType: 'historical', request: 'A' },
    act: listed(() => ledger.cancelRequestRuns(t.db, requestA)),
  },
  {
    name: 'recover stale (no heartbeat for an hour)',
    moves: { generating: 'planned', delivering: 'generated' },
    attempt: { delivering: 'aborted' },
    setup: { stale: true },
    act: listed(async () => {
      const ids = await ledger.recoverStaleRuns(t.db, 120);
      return [...ids.export, ...ids.delivery];
    }),
  },
];

async function read(run: Run) {
  const [r] = await t.db.select().from(exportRuns).where(eq(exportRuns.id, run.id));
  const [d] = await t.db.select().from(deliveries).where(eq(deliveries.id, run.deliveryId));
  return { run: r, delivery: d };
}

const cases = TRANSITIONS.flatMap((tr) => RUN_STATUSES.map((from) => ({ tr, from, to: tr.moves[from] })));

describe('the run ledger walks the lifecycle', () => {
  it.each(cases.map((c) => [c.tr.name, c.from, c.to ?? 'refused', c] as const))('%s from %s → %s', async (_n, _f, _t, c) => {
    const run = await runIn(c.from, c.tr.setup);
    const before = await read(run);
    const [{ dbNow }] = await t.db.execute<{ dbNow: string }>(sql`select now() as "dbNow"`);
    const outcome = await c.tr.act(run);
    const after = await read(run);
    if (c.to) {
      expect(outcome.ok, JSON.stringify(outcome.result)).toBe(true);
      if (!Array.isArray(outcome.result)) expect(outcome.result).toMatchObject({ ok: true, to: c.to });
      expect(after.run.status).toBe(c.to);
      // The database's clock, never the application's.
      if (c.tr.newAttempt) {
        const [made] = await t.db
          .select()
          .from(deliveries)
          .where(eq(deliveries.runId, run.id))
          .orderBy(desc(deliveries.startedAt))
          .limit(1);
        expect([made.status, made.attempt, made.startedAt.getTime() >= new Date(dbNow).getTime()]).toEqual(['running', 2, true]);
      } else expect(after.run.updatedAt.getTime()).toBeGreaterThanOrEqual(new Date(dbNow).getTime());
      const attempt = c.tr.attempt?.[c.from];
      expect(after.delivery.status).toBe(attempt ?? 'running');
      if (attempt) expect(after.delivery.finishedAt!.getTime()).toBeGreaterThanOrEqual(new Date(dbNow).getTime());
    } else {
      expect(outcome.ok).toBe(false);
      if (!Array.isArray(outcome.result)) expect(outcome.result).toEqual({ ok: false, reason: 'illegal_transition', from: c.from });
      // A refusal changes nothing.
      expect(after).toEqual(before);
    }
  });
});

describe('the run ledger refuses with a reason', () => {
  it('says a run that is planned but whose connection is paused is blocked, not in the wrong state', async () => {
    const [paused] = await t.db
      .insert(connections)
      .values({ programId: PROGRAM, kind: 'sftp', frequency: 'daily', startDate: new Date('2099-01-01T00:00:00Z'), status: 'paused' })
      .returning();
    const [run] = await t.db
      .insert(exportRuns)
      .values({
        connectionId: paused.id,
        programId: PROGRAM,
        exportType: 'incremental',
        windowStart: new Date('2021-01-01'),
        windowEnd: new Date('2021-01-02'),
      })
      .returning();
    expect(await ledger.claimRunForExport(t.db, run.id)).toEqual({ ok: false, reason: 'blocked', from: 'planned' });
    await t.db.update(exportRuns).set({ status: 'generated' }).where(eq(exportRuns.id, run.id));
    expect(await ledger.claimRunForDelivery(t.db, run.id)).toEqual({ ok: false, reason: 'blocked', from: 'generated' });
  });

  it('does not deliver the runs of an API connection', async () => {
    const run = await runIn('generated', { connection: 'api' });
    expect(await ledger.claimRunForDelivery(t.db, run.id)).toEqual({ ok: false, reason: 'blocked', from: 'generated' });
  });

  it('does not claim a chunk of a cancelled historical request', async () => {
    const run = await runIn('planned', { exportType: 'historical', request: 'A' });
    await t.db.update(historicalRequests).set({ status: 'cancelled' }).where(eq(historicalRequests.id, requestA));
    try {
      expect(await ledger.claimRunForExport(t.db, run.id)).toEqual({ ok: false, reason: 'blocked', from: 'planned' });
    } finally {
      await t.db.update(historicalRequests).set({ status: 'running' }).where(eq(historicalRequests.id, requestA));
    }
  });

  it('answers not_found for a run that does not exist', async () => {
    expect(await ledger.finishRunExport(t.db, '00000000-0000-4000-8000-000000000000', 'empty')).toEqual({ ok: false, reason: 'not_found' });
  });

  it('plans a new window once, numbers delivery attempts after the ones that counted, and recovers only stale runs', async () => {
    const w = { connectionId: sftpConnection, programId: PROGRAM, windowStart: new Date('2022-01-01'), windowEnd: new Date('2022-01-02') };
    const [id] = await ledger.planIncrementalRuns(t.db, [w]);
    expect(await ledger.planIncrementalRuns(t.db, [w])).toEqual([]);
    await t.db.update(exportRuns).set({ status: 'delivering' }).where(eq(exportRuns.id, id));
    const first = await ledger.recordDeliveryAttempt(t.db, id, { destination: 'x', trigger: 'schedule' });
    expect(first).toMatchObject({ ok: true, delivery: { attempt: 1 } });
    if (!first.ok) return;
    await ledger.handBackRunDelivery(t.db, id, first.delivery.id, 'paused'); // aborted: does not count
    await ledger.claimRunForDelivery(t.db, id);
    const second = await ledger.recordDeliveryAttempt(t.db, id, { destination: 'x', trigger: 'schedule' });
    expect(second).toMatchObject({ ok: true, delivery: { attempt: 1 } });
    expect(await ledger.recoverStaleRuns(t.db, 120)).toEqual({ export: [], delivery: [] }); // its heartbeat is fresh
  });
});

describe('the run ledger records live progress', () => {
  it('writes the rows exported so far on the database clock, and starts again from 0 at the next claim', async () => {
    const run = await runIn('generating');
    const [{ dbNow }] = await t.db.execute<{ dbNow: string }>(sql`select now() as "dbNow"`);
    expect(await ledger.recordExportProgress(t.db, run.id, { attempt: 1, rowsWritten: 65_536 })).toEqual({ ok: true, to: 'generating' });
    let { run: row } = await read(run);
    expect(row.rowsWritten).toBe(65_536);
    expect(row.progressAt!.getTime()).toBeGreaterThanOrEqual(new Date(dbNow).getTime());
    expect(row.progressAt!.getFullYear()).not.toBe(2001);

    await ledger.handBackRunExport(t.db, run.id);
    expect(await ledger.claimRunForExport(t.db, run.id)).toMatchObject({ ok: true, run: { attempt: 1 } });
    ({ run: row } = await read(run));
    expect([row.rowsWritten, row.progressAt]).toEqual([0, null]);
  });

  it('refuses a report from an attempt that is no longer the run’s, changing nothing', async () => {
    const run = await runIn('generating');
    await t.db.update(exportRuns).set({ attempt: 2 }).where(eq(exportRuns.id, run.id));
    const before = await read(run);
    expect(await ledger.recordExportProgress(t.db, run.id, { attempt: 1, rowsWritten: 99 })).toEqual({
      ok: false,
      reason: 'blocked',
      from: 'generating',
    });
    expect(await read(run)).toEqual(before);
  });

  it('writes the bytes uploaded of the total on the running attempt only; an aborted attempt keeps what it had', async () => {
    const run = await runIn('delivering');
    expect(await ledger.recordDeliveryProgress(t.db, run.id, run.deliveryId, { bytesDone: 4096, bytesTotal: 10_000 })).toEqual({
      ok: true,
      to: 'delivering',
    });
    let { delivery } = await read(run);
    expect([delivery.bytesDone, delivery.bytesTotal, delivery.progressAt?.getFullYear() !== 2001]).toEqual([4096, 10_000, true]);

    // Paused immediately: the attempt is aborted, and a late report of it changes nothing.
    await ledger.handBackRunDelivery(t.db, run.id, run.deliveryId, 'paused');
    await ledger.claimRunForDelivery(t.db, run.id);
    const next = await ledger.recordDeliveryAttempt(t.db, run.id, { destination: 'sftp://test', trigger: 'schedule' });
    if (!next.ok) throw new Error('no new attempt');
    const before = await read(run);
    expect(await ledger.recordDeliveryProgress(t.db, run.id, run.deliveryId, { bytesDone: 9000, bytesTotal: 10_000 })).toEqual({
      ok: false,
      reason: 'blocked',
      from: 'delivering',
    });
    expect(await read(run)).toEqual(before);
    ({ delivery } = await read(run));
    expect([delivery.status, delivery.bytesDone]).toEqual(['aborted', 4096]);

    // The new attempt starts from nothing.
    const [fresh] = await t.db.select().from(deliveries).where(eq(deliveries.id, next.delivery.id));
    expect([fresh.bytesDone, fresh.bytesTotal, fresh.progressAt]).toEqual([0, null, null]);
  });
});

describe('the run ledger fences a worker by its claim', () => {
  const stale = (id: string) =>
    t.db
      .update(exportRuns)
      .set({ updatedAt: sql`now() - interval '1 hour'` })
      .where(eq(exportRuns.id, id));
  const totals = { rowsTotal: 1, bytesTotal: 1, filesCount: 1, generatedAt: new Date('2020-01-01T00:00:00Z') };

  it('refuses every transition of an export attempt whose run was recovered and claimed again, and names the new claim', async () => {
    const run = await runIn('planned');
    const first = await ledger.claimRunForExport(t.db, run.id);
    if (!first.ok || !('run' in first)) throw new Error('not claimed');
    await stale(run.id);
    expect((await ledger.recoverStaleRuns(t.db, 60)).export).toContain(run.id);
    const second = await ledger.claimRunForExport(t.db, run.id);
    if (!second.ok || !('run' in second)) throw new Error('not claimed again');
    expect(second.run.claim).toBe(first.run.claim + 1);
    expect(second.run.attempt).toBe(first.run.attempt); // the recovered attempt was not counted

    const before = await read(run);
    const old = first.run.claim;
    const lost = { ok: false, reason: 'claim_lost', from: 'generating', claim: second.run.claim };
    expect(await ledger.beatRunHeartbeat(t.db, run.id, old)).toEqual(lost);
    expect(await ledger.recordExportProgress(t.db, run.id, { attempt: first.run.attempt, rowsWritten: 5, claim: old })).toEqual(lost);
    expect(await ledger.publishRunExport(t.db, { id: run.id, programId: PROGRAM, claim: old }, totals, 'generated')).toEqual(lost);
    expect(await ledger.finishRunExport(t.db, run.id, 'generated', old)).toEqual(lost);
    expect(await ledger.handBackRunExport(t.db, run.id, old)).toEqual(lost);
    expect(await ledger.cancelRunExport(t.db, run.id, old)).toEqual(lost);
    expect(await ledger.failRunExport(t.db, run.id, { message: 'x', final: true, claim: old })).toEqual(lost);
    expect(await read(run)).toEqual(before);

    expect(await ledger.publishRunExport(t.db, { id: run.id, programId: PROGRAM, claim: second.run.claim }, totals, 'generated')).toEqual({
      ok: true,
      to: 'generated',
    });
    expect((await read(run)).run).toMatchObject({ status: 'generated', rowsTotal: 1, filesCount: 1 });
  });

  it('refuses a recovered delivery attempt’s outcome, and does not recover a run whose worker holds it for a rename', async () => {
    const run = await runIn('generated');
    await t.db.update(deliveries).set({ status: 'aborted' }).where(eq(deliveries.id, run.deliveryId));
    const first = await ledger.claimRunForDelivery(t.db, run.id);
    if (!first.ok) throw new Error('not claimed');
    const attempt = await ledger.recordDeliveryAttempt(t.db, run.id, { destination: 'x', trigger: 'schedule', claim: first.claim });
    if (!attempt.ok) throw new Error('no attempt');

    // While the worker holds the run for a rename, the sweep leaves it alone however old its heartbeat.
    await stale(run.id);
    await t.sql.begin(async (tx) => {
      const held = await tx`select 1 from export_runs where id = ${run.id} and claim = ${first.claim} for update`;
      expect(held).toHaveLength(1);
      expect((await ledger.recoverStaleRuns(t.db, 60)).delivery).not.toContain(run.id);
    });
    expect((await ledger.recoverStaleRuns(t.db, 60)).delivery).toContain(run.id);

    const second = await ledger.claimRunForDelivery(t.db, run.id);
    if (!second.ok) throw new Error('not claimed again');
    expect(second.claim).toBe(first.claim + 1);
    const lost = { ok: false, reason: 'claim_lost', from: 'delivering', claim: second.claim };
    expect(await t.db.transaction((tx) => ledger.holdRunClaim(tx, run.id, first.claim))).toEqual(lost);
    expect(await t.db.transaction((tx) => ledger.holdRunClaim(tx, run.id, second.claim))).toEqual({ ok: true, to: 'delivering' });
    expect(await ledger.markRunDelivered(t.db, run.id, attempt.delivery.id, { files: 1, bytes: 1 }, first.claim)).toEqual(lost);
    // Without the claim, the attempt itself fences: the recovered attempt is no longer the running one.
    expect(await ledger.markRunDelivered(t.db, run.id, attempt.delivery.id, { files: 1, bytes: 1 })).toMatchObject({ ok: false });
    expect(
      await ledger.scheduleDeliveryRetry(t.db, run.id, attempt.delivery.id, { code: 'x', message: 'x', retryInSeconds: 1 }, first.claim),
    ).toEqual(lost);
    expect((await read(run)).run.status).toBe('delivering');
  });
});

describe('sequence', () => {
  const day = (d: number) => new Date(Date.UTC(2023, 0, d));
  const windowsOf = (connectionId: string, from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => ({
      connectionId,
      programId: PROGRAM,
      windowStart: day(from + i),
      windowEnd: day(from + i + 1),
    }));

  it('numbers a connection’s incremental windows 1, 2, 3 … in window order, without gaps, however many planners race', async () => {
    const [c] = await t.db
      .insert(connections)
      .values({ programId: PROGRAM, kind: 'sftp', frequency: 'daily', startDate: day(1) })
      .returning();
    await ledger.planIncrementalRuns(t.db, windowsOf(c.id, 1, 3));
    // Four planners at once, over overlapping ranges, some re-planning windows already there.
    await Promise.all([
      ledger.planIncrementalRuns(t.db, windowsOf(c.id, 2, 6)),
      ledger.planIncrementalRuns(t.db, windowsOf(c.id, 4, 9)),
      ledger.planIncrementalRuns(t.db, windowsOf(c.id, 1, 8)),
      ledger.planIncrementalRuns(t.db, windowsOf(c.id, 7, 10)),
    ]);
    const runs = await t.db
      .select({ start: exportRuns.windowStart, sequence: exportRuns.sequence })
      .from(exportRuns)
      .where(eq(exportRuns.connectionId, c.id))
      .orderBy(exportRuns.windowStart);
    expect(runs.map((r) => [r.start.toISOString().slice(0, 10), r.sequence])).toEqual(
      Array.from({ length: 10 }, (_, i) => [
        day(i + 1)
          .toISOString()
          .slice(0, 10),
        i + 1,
      ]),
    );
  });

  it('numbers a historical request’s chunks 1, 2, 3 … of its own, and again for a later request of the same months', async () => {
    const [c] = await t.db
      .insert(connections)
      .values({ programId: PROGRAM, kind: 'api', frequency: 'daily', startDate: day(1) })
      .returning();
    const [first, second] = await t.db
      .insert(historicalRequests)
      .values(
        [1, 2].map(() => ({ programId: PROGRAM, connectionId: c.id, rangeStart: day(1), rangeEnd: day(4), status: 'running' as const })),
      )
      .returning();
    // Handed over in any order, numbered by window.
    await ledger.planHistoricalRuns(t.db, first.id, windowsOf(c.id, 1, 3).reverse());
    await ledger.planHistoricalRuns(t.db, second.id, windowsOf(c.id, 2, 3));
    const runs = await t.db
      .select({ request: exportRuns.historicalRequestId, start: exportRuns.windowStart, sequence: exportRuns.sequence })
      .from(exportRuns)
      .where(eq(exportRuns.connectionId, c.id))
      .orderBy(exportRuns.windowStart);
    expect(runs.map((r) => [r.request === first.id ? 'first' : 'second', r.start.getUTCDate(), r.sequence])).toEqual([
      ['first', 1, 1],
      ['second', 2, 1],
      ['second', 3, 2],
    ]);
  });
});
