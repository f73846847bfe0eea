// What the connection page reads from the management API: the 30-day chart points (every finished
// window, failed and empty ones included, lag missing where nothing was delivered) and the live
// progress of runs in flight, in the event history and in the historical requests. Real PostgreSQL;
// every answer is checked against its documented schema.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as historicalListRoute } from '@/app/api/v1/connections/[id]/historical-requests/route';
import { GET as runsRoute } from '@/app/api/v1/connections/[id]/runs/route';
import { GET as statsRoute } from '@/app/api/v1/connections/[id]/stats/route';
import { GET as connectionRoute } from '@/app/api/v1/connections/[id]/route';
import { GET as connectionsRoute } from '@/app/api/v1/connections/route';
import { closeDatabase } from '@/db/client';
import { connections, deliveries, exportRuns, historicalRequests, type RunStatus } from '@/db/schema';
import { resetClock, setClock } from '@/lib/clock';
import type { Connection, HistoricalRequest, Run, Stats } from '@/lib/management/responses';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';

let t: TestDatabase;
let cookie: string;
let connectionId: string;
let otherConnectionId: string;
const PROGRAM = 131;
const NOW = new Date('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function get<T>(handler: typeof statsRoute, url: string, id: string): Promise<T> {
  const res = await handler(request('GET', url, { cookie }), { params: Promise.resolve({ id }) });
  await checkAnswer('GET', url, res);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** A daily window `daysAgo` days before NOW's midnight, finished `lagMinutes` after its end. */
async function run(
  status: RunStatus,
  daysAgo: number,
  o: {
    lagMinutes?: number;
    rows?: number;
    exportType?: 'incremental' | 'historical';
    connection?: string;
    requestId?: string;
    /** Planned this long after the window's end (default 1: live). */
    plannedMinutes?: number;
  } = {},
) {
  const windowStart = new Date(Date.UTC(2026, 10, 20) - daysAgo * DAY);
  const windowEnd = new Date(windowStart.getTime() + DAY);
  const finished = ['delivered', 'available', 'empty', 'failed', 'cancelled'].includes(status);
  const [row] = await t.db
    .insert(exportRuns)
    .values({
      connectionId: o.connection ?? connectionId,
      programId: PROGRAM,
      exportType: o.exportType ?? 'incremental',
      historicalRequestId: o.requestId ?? null,
      windowStart,
      windowEnd,
      status,
      attempt: 1,
      rowsTotal: o.rows ?? 0,
      bytesTotal: (o.rows ?? 0) * 10,
      startedAt: windowEnd,
      finishedAt: finished ? new Date(windowEnd.getTime() + (o.lagMinutes ?? 10) * 60_000) : null,
      createdAt: new Date(windowEnd.getTime() + (o.plannedMinutes ?? 1) * 60_000),
    })
    .returning();
  return row;
}

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  setClock(NOW);
  await createPrograms(t.db, [{ id: PROGRAM, name: 'Charts' }]);
  cookie = await sessionCookie(await createAccount(t.db, { role: 'firstup_super_admin' }));
  const made = await t.db
    .insert(connections)
    .values([
      { programId: PROGRAM, kind: 'sftp', frequency: 'daily', startDate: new Date('2026-09-01T00:00:00Z'), sftpHost: 'sftp.example.com' },
      { programId: PROGRAM, kind: 'sftp', frequency: 'daily', startDate: new Date('2026-09-01T00:00:00Z'), sftpHost: 'sftp.example.com' },
    ])
    .returning();
  [connectionId, otherConnectionId] = made.map((c) => c.id);
});

afterAll(async () => {
  resetClock();
  await closeDatabase();
  await t?.drop();
});

describe('the 30-day charts', () => {
  it('give every finished window — delivered, empty and failed — on a real time range, with the failed window’s lag missing', async () => {
    await run('delivered', 40, { rows: 5 }); // before the 30 days
    await run('delivered', 10, { rows: 7, lagMinutes: 2 * 24 * 60, plannedMinutes: 2 * 24 * 60 - 5 }); // a catch-up
    await run('delivered', 9, { rows: 120, lagMinutes: 20 });
    await run('failed', 8, { rows: 80, lagMinutes: 3 });
    // 7 days ago: no run (the connection was paused): a gap, not a point.
    await run('empty', 6, { lagMinutes: 7 });
    await run('delivered', 5, { rows: 300, lagMinutes: 95 });
    await run('cancelled', 4);
    await run('delivering', 3, { rows: 50 });
    await run('failed', 2, { exportType: 'historical' });
    await run('delivered', 1, { rows: 9, connection: otherConnectionId });

    const stats = await get<Stats>(statsRoute, `/api/v1/connections/${connectionId}/stats?program=${PROGRAM}&days=30`, connectionId);
    expect(stats.range).toEqual({ from: new Date(NOW.getTime() - 30 * DAY).toISOString(), to: NOW.toISOString() });
    expect(stats.lag_target_seconds).toBe(3600);
    expect(stats.data.map((p) => [p.window_start.slice(0, 10), p.status, p.rows, p.lag_seconds, p.catch_up])).toEqual([
      ['2026-11-10', 'delivered', 7, 2 * 24 * 3600, true],
      ['2026-11-11', 'delivered', 120, 20 * 60, false],
      ['2026-11-12', 'failed', 80, null, false],
      ['2026-11-14', 'empty', 0, 7 * 60, false],
      ['2026-11-15', 'delivered', 300, 95 * 60, false],
    ]);
    expect(stats.data[2].finished_at).toBe(new Date(Date.UTC(2026, 10, 13) + 3 * 60_000).toISOString());
  });
});

describe('the next delivery', () => {
  it('is expected after the next window closes, by the median lag of the live windows (a catch-up left out), never in the past', async () => {
    const [c] = await t.db
      .insert(connections)
      .values({
        programId: PROGRAM,
        kind: 'api',
        frequency: 'daily',
        startDate: new Date('2026-11-01T00:00:00Z'),
        plannedThrough: new Date('2026-11-20T00:00:00Z'),
      })
      .returning();
    await run('available', 3, { connection: c.id, lagMinutes: 10 });
    await run('available', 2, { connection: c.id, lagMinutes: 30 });
    await run('available', 1, { connection: c.id, lagMinutes: 20 });
    await run('available', 4, { connection: c.id, lagMinutes: 5 * 24 * 60, plannedMinutes: 5 * 24 * 60 - 10 }); // a catch-up
    const url = `/api/v1/connections/${c.id}?program=${PROGRAM}`;
    const one = await get<{ data: Connection }>(connectionRoute as typeof statsRoute, url, c.id);
    expect(one.data.next_window).toEqual({ start: '2026-11-20T00:00:00.000Z', end: '2026-11-21T00:00:00.000Z' });
    expect(one.data.next_delivery).toEqual({
      window_start: '2026-11-20T00:00:00.000Z',
      window_end: '2026-11-21T00:00:00.000Z',
      expected_at: '2026-11-21T00:20:00.000Z',
      lag_seconds: 20 * 60,
      lag_from_history: true,
      in_flight: false,
    });
    // Later than expected (the worker was down): "now", never a time already past.
    setClock(new Date('2026-11-21T03:00:00Z'));
    try {
      const late = await get<{ data: Connection }>(connectionRoute as typeof statsRoute, url, c.id);
      expect(late.data.next_delivery?.expected_at).toBe('2026-11-21T03:00:00.000Z');
    } finally {
      setClock(NOW);
    }
    // The list answers the same.
    const list = await get<{ data: Connection[] }>(
      connectionsRoute as unknown as typeof statsRoute,
      `/api/v1/connections?program=${PROGRAM}`,
      '',
    );
    expect(list.data.find((x) => x.id === c.id)?.next_delivery?.expected_at).toBe('2026-11-21T00:20:00.000Z');
  });
});

describe('live progress', () => {
  it('shows rows written while exporting, bytes of the total with the time left while delivering, and nothing once finished', async () => {
    const exporting = await run('generating', 12);
    await t.db
      .update(exportRuns)
      .set({ rowsWritten: 131_072, progressAt: new Date(NOW.getTime() - 1000) })
      .where(eq(exportRuns.id, exporting.id));
    const uploading = await run('delivering', 11, { rows: 500 });
    const started = new Date(NOW.getTime() - 40_000);
    await t.db.insert(deliveries).values([
      // An earlier attempt, aborted after 1 MB: not the one in flight.
      {
        runId: uploading.id,
        connectionId,
        programId: PROGRAM,
        destination: 'sftp.example.com',
        attempt: 1,
        status: 'aborted',
        bytesDone: 1_000_000,
        bytesTotal: 8_000_000,
        startedAt: new Date(NOW.getTime() - 600_000),
        finishedAt: new Date(NOW.getTime() - 590_000),
      },
      // 2 MB of 8 MB in 20 s: 100 kB/s, 6 MB left → 60 s.
      {
        runId: uploading.id,
        connectionId,
        programId: PROGRAM,
        destination: 'sftp.example.com',
        attempt: 1,
        status: 'running',
        bytesDone: 2_000_000,
        bytesTotal: 8_000_000,
        startedAt: started,
        progressAt: new Date(started.getTime() + 20_000),
      },
    ]);

    const page = await get<{ data: Run[] }>(
      runsRoute,
      `/api/v1/connections/${connectionId}/runs?program=${PROGRAM}&limit=100`,
      connectionId,
    );
    const byId = new Map(page.data.map((r) => [r.id, r]));
    expect(byId.get(exporting.id)!.progress).toEqual({
      step: 'export',
      rows_written: 131_072,
      bytes_done: null,
      bytes_total: null,
      started_at: null,
      updated_at: new Date(NOW.getTime() - 1000).toISOString(),
      eta_seconds: null,
    });
    expect(byId.get(uploading.id)!.progress).toEqual({
      step: 'delivery',
      rows_written: 500,
      bytes_done: 2_000_000,
      bytes_total: 8_000_000,
      started_at: started.toISOString(),
      updated_at: new Date(started.getTime() + 20_000).toISOString(),
      eta_seconds: 60,
    });
    const finished = page.data.filter((r) => !['generating', 'delivering'].includes(r.status));
    expect(finished.length).toBeGreaterThan(0);
    for (const r of finished) expect(r.progress).toBeNull();
  });

  it('shows a running historical request’s months done and the months in flight with their progress', async () => {
    const [running, completed] = await t.db
      .insert(historicalRequests)
      .values([
        {
          programId: PROGRAM,
          connectionId,
          rangeStart: new Date('2026-01-01'),
          rangeEnd: new Date('2026-04-01'),
          status: 'running',
          chunksTotal: 3,
          chunksDone: 1,
        },
        {
          programId: PROGRAM,
          connectionId,
          rangeStart: new Date('2025-01-01'),
          rangeEnd: new Date('2025-02-01'),
          status: 'completed',
          chunksTotal: 1,
          chunksDone: 1,
        },
      ])
      .returning();
    await run('delivered', 300, { exportType: 'historical', requestId: running.id, rows: 10 });
    const month = await run('generating', 290, { exportType: 'historical', requestId: running.id });
    await t.db.update(exportRuns).set({ rowsWritten: 65_536, progressAt: NOW }).where(eq(exportRuns.id, month.id));
    await run('planned', 280, { exportType: 'historical', requestId: running.id });

    const list = await get<{ data: HistoricalRequest[] }>(
      historicalListRoute,
      `/api/v1/connections/${connectionId}/historical-requests?program=${PROGRAM}`,
      connectionId,
    );
    const byId = new Map(list.data.map((h) => [h.id, h]));
    expect(byId.get(running.id)).toMatchObject({ chunks_done: 1, chunks_total: 3 });
    expect(byId.get(running.id)!.months_in_progress).toEqual([
      {
        run_id: month.id,
        window_start: month.windowStart.toISOString(),
        window_end: month.windowEnd.toISOString(),
        status: 'generating',
        progress: expect.objectContaining({ step: 'export', rows_written: 65_536 }),
      },
    ]);
    expect(byId.get(completed.id)!.months_in_progress).toEqual([]);
  });
});
