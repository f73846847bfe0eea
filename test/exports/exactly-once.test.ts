// Every event in exactly one incremental file: 50 consecutive windows of a connection, events with
// random ingestion times — some exactly on boundaries, some a microsecond before, late arrivals
// whose event time is days earlier — and the union of all activity files equals the source events.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections, exportRuns } from '@/db/schema';
import { generateRun } from '@/lib/exports';
import { LocalStorage } from '@/lib/storage';
import { windowsOf, type Window } from '@/lib/windows';
import { useTestEnv } from '../helpers/auth';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { parseCsv } from './fixtures';

const PROGRAM = 5100;
const START = new Date('2026-02-27T00:00:00Z'); // crosses a month end into March
const WINDOWS = 50;

/** mulberry32 with a fixed seed: the same "random" events every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An instant with microseconds as PostgreSQL text: ms since epoch + 0..999 µs. */
const micros = (ms: number, us: number) => new Date(ms).toISOString().replace('Z', String(us).padStart(3, '0') + 'Z');

let t: TestDatabase;
let root: string;
let windows: Window[];
/** event id → its ingestion instant in µs since epoch (for finding its window). */
const ingested = new Map<string, bigint>();
const memberUpdated = new Map<string, bigint>();

beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-once-'));
  windows = windowsOf({ frequency: 'every_4_hours', startDate: START, endDate: new Date(START.getTime() + WINDOWS * 4 * 3_600_000) });
  expect(windows).toHaveLength(WINDOWS);
  const first = windows[0].start.getTime();
  const last = windows[WINDOWS - 1].end.getTime();
  const random = rng(20261128);

  const instants: { ms: number; us: number }[] = [];
  // Random instants across the range and a little beyond it on both sides.
  for (let i = 0; i < 3000; i++) {
    const ms = first - 3_600_000 + Math.floor(random() * (last - first + 2 * 3_600_000));
    instants.push({ ms, us: Math.floor(random() * 1000) });
  }
  // Every boundary exactly, and the microsecond before it.
  for (const w of [...windows.map((x) => x.start), windows[WINDOWS - 1].end]) {
    instants.push({ ms: w.getTime(), us: 0 }, { ms: w.getTime() - 1, us: 999 });
  }

  await t.sql`insert into programs (id, name) values (${PROGRAM}, 'Exactly once')`;
  const events = instants.map(({ ms, us }, i) => ({
    program_id: PROGRAM,
    content_id: 1 + (i % 7),
    user_id: 1 + (i % 50),
    event_type: 'impression',
    platform: 'web',
    // A quarter arrive late: their event time is up to three days before they arrived.
    occurred_at: new Date(ms - (i % 4 === 0 ? Math.floor(random() * 3 * 86_400_000) : 1000)).toISOString(),
    ingested_at: micros(ms, us),
  }));
  for (let i = 0; i < events.length; i += 1000) {
    const rows = await t.sql<{ id: string; us: string }[]>`
      insert into activity_events ${t.sql(events.slice(i, i + 1000))}
      returning id::text, (extract(epoch from ingested_at) * 1000000)::bigint::text as us`;
    for (const r of rows) ingested.set(r.id, BigInt(r.us));
  }
  // Members updated at random instants and on boundaries: each must be in exactly one user file.
  const members = instants
    .filter((_, i) => i % 10 === 0 || i >= 3000)
    .map(({ ms, us }, i) => ({
      program_id: PROGRAM,
      first_name: `Member ${i}`,
      updated_at: micros(ms, us),
    }));
  const rows = await t.sql<{ id: string; us: string }[]>`
    insert into members ${t.sql(members)} returning id::text, (extract(epoch from updated_at) * 1000000)::bigint::text as us`;
  for (const r of rows) memberUpdated.set(r.id, BigInt(r.us));
});
afterAll(async () => {
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('exactly once across 50 consecutive windows', () => {
  it('puts every event ingested in the range in exactly one activity file — the one whose window holds its ingestion time', async () => {
    const [conn] = await t.db
      .insert(connections)
      .values({ programId: PROGRAM, kind: 'sftp', frequency: 'every_4_hours', startDate: START, format: 'csv' })
      .returning();
    const storage = new LocalStorage(root);
    const seenEvents = new Map<string, number>(); // event id → window index
    const seenMembers = new Map<string, number>();
    const duplicates: string[] = [];

    for (const [i, w] of windows.entries()) {
      const [run] = await t.db
        .insert(exportRuns)
        .values({ connectionId: conn.id, programId: PROGRAM, exportType: 'incremental', windowStart: w.start, windowEnd: w.end })
        .returning();
      const result = await generateRun(t, run.id, { storage });
      for (const f of result.files) {
        const [header, ...rows] = parseCsv(gunzipSync(readFileSync(storage.localPath(f.key))).toString('utf8'));
        const [seen, col] =
          f.fileType === 'activity' ? [seenEvents, 'Event ID'] : f.fileType === 'user' ? [seenMembers, 'User ID'] : [undefined, ''];
        if (!seen) continue;
        for (const row of rows) {
          const id = row[header.indexOf(col)]!;
          if (seen.has(id)) duplicates.push(`${f.fileType} ${id}`);
          seen.set(id, i);
        }
      }
    }

    expect(duplicates).toEqual([]);
    const lo = BigInt(windows[0].start.getTime()) * 1000n;
    const hi = BigInt(windows[WINDOWS - 1].end.getTime()) * 1000n;
    const windowOf = (us: bigint) =>
      windows.findIndex((w) => BigInt(w.start.getTime()) * 1000n <= us && us < BigInt(w.end.getTime()) * 1000n);
    for (const [source, seen] of [
      [ingested, seenEvents],
      [memberUpdated, seenMembers],
    ] as const) {
      const expected = [...source.entries()].filter(([, us]) => us >= lo && us < hi);
      expect(expected.length).toBeGreaterThan(100);
      // Nothing missing, nothing extra …
      expect([...seen.keys()].sort()).toEqual(expected.map(([id]) => id).sort());
      // … and each one in the window its time falls in, boundaries included.
      const misplaced = expected.filter(([id, us]) => seen.get(id) !== windowOf(us));
      expect(misplaced).toEqual([]);
    }
  });
});
