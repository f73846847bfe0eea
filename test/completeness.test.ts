// The Completeness table's answer and the reconciliation's source count. Windows really exported
// (real PostgreSQL, local storage): each window names the rows the source held when it was
// exported, counted apart from the files, so a row the files missed (a late event slipping past the
// COPY, made here by inserting it the moment the file is stored) shows as a difference, named. The
// table checks each manifest's signature against the stored bytes and the published keys: a
// manifest changed in storage is named. Both roles read it; bad input is a 422 naming the field.
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as completenessRoute } from '@/app/api/v1/connections/[id]/completeness/route';
import { connections, exportFiles, exportRuns } from '@/db/schema';
import { activityEvents, campaigns, members } from '@/db/schema/source';
import { resetClock, setClock } from '@/lib/clock';
import type { WindowView } from '@/lib/export-api/reconciliation';
import { problemsOf } from '@/lib/management/completeness';
import type { CompletenessWindow } from '@/lib/management/responses';
import { executeExportRun } from '@/lib/runs/export-run';
import { planWindows } from '@/lib/scheduling/planner';
import { seedProgram } from '@/lib/seed';
import { getStorage, LocalStorage, setStorage, type Storage } from '@/lib/storage';
import { GET as reconcileRoute } from '@/pages/api/v1/data_exports/reconciliation';
import { checkAnswer } from './helpers/api-answers';
import { createAccount, createPrograms, request, sessionCookie, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { call, clientToken } from './helpers/export-api';

const PROGRAM = 83;
const seededUntil = new Date('2026-11-20T00:00:00Z');
let t: TestDatabase;
let dataDir: string;
let connectionId: string;
let admin: string;
let brand: string;
let token: string;
/** Armed: the next activity file stored gets a late event inserted into its window before put returns. */
let lateEvent: { at: Date } | null = null;

/** Local storage that, when armed, commits one more event in the window right after the activity file's rows were read. */
function storageWithLateEvent(inner: Storage): Storage {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver) as unknown;
      return async (key: string, body: Readable, opts?: { signal?: AbortSignal }) => {
        const out = await target.put(key, body, opts);
        if (lateEvent && key.includes('activity')) {
          const at = lateEvent.at;
          lateEvent = null;
          const [m] = await t.db.select().from(members).where(eq(members.programId, PROGRAM)).limit(1);
          const [c] = await t.db.select().from(campaigns).where(eq(campaigns.programId, PROGRAM)).limit(1);
          await t.db.insert(activityEvents).values({
            programId: PROGRAM,
            contentId: c.id,
            userId: m.id,
            eventType: 'open',
            platform: 'web',
            occurredAt: at,
            ingestedAt: at,
          });
        }
        return out;
      };
    },
  });
}

async function exportDue(at: Date) {
  setClock(at);
  await planWindows(t, { now: at, settleMs: 5 * 60_000 });
  const runs = await t.db.select().from(exportRuns).where(eq(exportRuns.connectionId, connectionId)).orderBy(asc(exportRuns.windowStart));
  for (const r of runs.filter((x) => x.status === 'planned'))
    expect(['available', 'empty']).toContain((await executeExportRun(t, r.id)).status);
}

async function completeness(
  cookie: string,
  query = '',
): Promise<{ status: number; body: { data: CompletenessWindow[] } & Record<string, unknown> }> {
  const url = `/api/v1/connections/${connectionId}/completeness?program=${PROGRAM}${query}`;
  const res = await completenessRoute(request('GET', url, { cookie }), { params: Promise.resolve({ id: connectionId }) });
  await checkAnswer('GET', url, res.clone());
  return { status: res.status, body: (await res.json()) as never };
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'dde-completeness-'));
  useTestEnv(t, { DDE_DATA_DIR: dataDir, SMTP_URL: undefined });
  setStorage(storageWithLateEvent(new LocalStorage(path.join(dataDir, 'exports'))));
  await seedProgram(t, { programId: PROGRAM, users: 40, campaigns: 3, events: 1500, days: 1, seed: 9, until: seededUntil });
  const [c] = await t.db
    .insert(connections)
    .values({ programId: PROGRAM, kind: 'api', frequency: 'every_4_hours', startDate: new Date('2026-11-19T16:00:00Z') })
    .returning();
  connectionId = c.id;
  admin = await sessionCookie(await createAccount(t.db, { role: 'firstup_super_admin' }));
  brand = await sessionCookie(await createAccount(t.db, { role: 'brand_super_admin', programIds: [PROGRAM] }));
  token = (await clientToken(t, PROGRAM, ['data_exports.read'], { connectionIds: [connectionId] })).token;
  await exportDue(new Date(seededUntil.getTime() + 10 * 60_000)); // windows 1 and 2, with data
  // Window 3 (00:00–04:00 on the 20th) has no events; one arrives the moment its activity file is stored.
  lateEvent = { at: new Date('2026-11-20T01:30:00Z') };
  await exportDue(new Date('2026-11-20T04:10:00Z'));
  expect(lateEvent).toBeNull();
}, 180_000);

afterAll(async () => {
  resetClock();
  setStorage(undefined);
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the Completeness table', () => {
  it('lists each window newest first: delivered, signature verified, rows against the source’s own count', async () => {
    for (const cookie of [admin, brand]) {
      const { status, body } = await completeness(cookie);
      expect(status).toBe(200);
      expect(body.has_more).toBe(false);
      expect(body.data.map((w) => [w.sequence, w.status, w.delivered, w.signature_state])).toEqual([
        [3, 'empty', true, 'verified'],
        [2, 'available', true, 'verified'],
        [1, 'available', true, 'verified'],
      ]);
      const [third, second, first] = body.data;
      for (const w of [first, second]) {
        expect(w.rows).toBeGreaterThan(0);
        expect(w.source_rows).toBe(w.rows);
        expect(w.problems).toEqual([]);
        for (const f of w.files) expect(w.source_rows_by_type![f.type]).toBe(f.rows);
      }
      // The late event is in the source's count, not in the files: named, with both numbers.
      expect(third).toMatchObject({ rows: 0, source_rows: 1, source_rows_by_type: { user: 0, campaign: 0, activity: 1 }, files: [] });
      expect(third.problems).toEqual([
        { code: 'rows_differ', message: 'The source held 1 rows when the window was exported; its files hold 0.' },
      ]);
    }
  });

  it('pages newest first with a cursor, still naming the window before each one', async () => {
    const one = await completeness(brand, '&limit=2');
    expect(one.body.data.map((w) => w.sequence)).toEqual([3, 2]);
    expect(one.body.has_more).toBe(true);
    const two = await completeness(brand, `&limit=2&cursor=${encodeURIComponent(String(one.body.next_cursor))}`);
    expect(two.body.data.map((w) => [w.sequence, w.problems])).toEqual([[1, []]]);
    expect(two.body.has_more).toBe(false);
  });

  it('names a manifest changed in storage: its signature no longer holds', async () => {
    const [manifest] = await t.db
      .select()
      .from(exportFiles)
      .innerJoin(exportRuns, eq(exportRuns.id, exportFiles.runId))
      .where(and(eq(exportRuns.connectionId, connectionId), eq(exportRuns.sequence, 2), eq(exportFiles.fileType, 'manifest')));
    const storage = getStorage();
    const chunks: Buffer[] = [];
    for await (const c of await storage.get(manifest.export_files.storageKey)) chunks.push(c as Buffer);
    const original = Buffer.concat(chunks);
    const forged = Buffer.from(original.toString('utf8').replace(/"rows": (\d+)/, (_m, n: string) => `"rows": ${Number(n) + 1}`));
    await storage.put(manifest.export_files.storageKey, Readable.from([forged]));
    try {
      const { body } = await completeness(admin);
      const second = body.data.find((w) => w.sequence === 2)!;
      expect(second.signature_state).toBe('invalid');
      expect(second.problems).toEqual([
        { code: 'signature', message: 'The manifest’s signature does not hold: the signature does not match the manifest.' },
      ]);
    } finally {
      await storage.put(manifest.export_files.storageKey, Readable.from([original]));
    }
    expect((await completeness(admin)).body.data.find((w) => w.sequence === 2)!.signature_state).toBe('verified');
  });

  it('refuses bad input naming the field, and another program’s connection is not found', async () => {
    const bad = await completeness(admin, '&export_type=weekly');
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('export_type must be one of incremental, historical');
    await createPrograms(t.db, [{ id: PROGRAM + 1, name: 'Another' }]);
    const other = await sessionCookie(await createAccount(t.db, { role: 'brand_super_admin', programIds: [PROGRAM + 1] }));
    const url = `/api/v1/connections/${connectionId}/completeness?program=${PROGRAM}`;
    const res = await completenessRoute(request('GET', url, { cookie: other }), { params: Promise.resolve({ id: connectionId }) });
    expect([403, 404]).toContain(res.status);
  });
});

describe('the reconciliation endpoint', () => {
  it('answers the rows the source held when each window was exported, beside the files’ rows', async () => {
    const res = await call(
      reconcileRoute,
      new Request(`http://localhost/api/v1/data_exports/reconciliation?connection=${connectionId}`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: WindowView[] };
    expect(body.data.map((w) => [w.sequence, w.rows === w.source_rows])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(body.data[2]).toMatchObject({ rows: 0, source_rows: 1 });
  });
});

describe('problems named', () => {
  const w = (o: Partial<WindowView>): WindowView => ({
    run_id: '00000000-0000-4000-8000-000000000001',
    sequence: 1,
    export_type: 'incremental',
    historical_request_id: null,
    window_start: '2026-11-19T16:00:00.000Z',
    window_end: '2026-11-19T20:00:00.000Z',
    status: 'available',
    exported: true,
    rows: 5,
    source_rows: 5,
    source_rows_by_type: { activity: 5 },
    files: [],
    manifest: null,
    ...o,
  });
  const fine = { signature_state: 'verified' as const, signature_key: 'k', problem: null };

  it('missing sequence numbers and time before a window, a failed one', () => {
    const before = w({ sequence: 4, window_end: '2026-11-19T20:00:00.000Z' });
    expect(problemsOf(w({ sequence: 7, window_start: '2026-11-20T08:00:00.000Z', status: 'failed' }), before, fine, false)).toEqual([
      { code: 'sequence_gap', message: 'Sequences 5–6 are missing before this window.' },
      { code: 'time_gap', message: 'No window covers 2026-11-19T20:00:00Z – 2026-11-20T08:00:00Z before this one.' },
      { code: 'not_delivered', message: 'Not delivered: the run failed.' },
    ]);
    expect(problemsOf(w({ sequence: 2 }), null, fine, true)).toEqual([
      { code: 'sequence_gap', message: 'Sequence 1 is missing before this window.' },
    ]);
    expect(problemsOf(w({ sequence: 2 }), null, fine, false)).toEqual([]);
  });
});
