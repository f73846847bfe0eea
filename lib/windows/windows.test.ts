// Property tests for window arithmetic: a seeded generator draws schedules and instants; every
// property must hold for each draw. The seed is fixed so a failure reproduces.
import { describe, expect, it } from 'vitest';
import { FREQUENCIES, type Frequency } from '@/db/schema/connections';
import { createRng } from '@/lib/seed/random';
import { alignDown, isAligned, monthlyChunks, nextBoundary, windowAt, windowsEndingIn, windowsOf, type Window } from './index';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (s: string) => new Date(s);

/** Instants around the awkward places: month ends, leap days, year ends, DST dates (irrelevant in UTC). */
const AWKWARD = [
  '2024-02-28T23:59:59.999Z',
  '2024-02-29T00:00:00Z',
  '2024-02-29T20:00:00Z',
  '2024-03-01T00:00:00Z',
  '2023-02-28T22:00:00Z',
  '2025-12-31T23:59:59Z',
  '2026-01-01T00:00:00Z',
  '2027-12-27T00:00:00Z',
  '2026-03-29T01:00:00Z',
  '2026-10-25T01:00:00Z',
  '2100-02-28T12:00:00Z',
  '2000-02-29T00:00:00Z',
].map(iso);

function drawInstant(r: ReturnType<typeof createRng>): Date {
  const mode = r.int(0, 3);
  if (mode === 0) return r.pick(AWKWARD);
  const base = Date.UTC(2020, 0, 1);
  const ms = base + Math.floor(r.next() * 10 * 365 * DAY);
  if (mode === 1) return new Date(ms - (ms % HOUR)); // on an hour
  if (mode === 2) return new Date(ms - (ms % 1000)); // on a second
  return new Date(ms);
}

function expectTiling(ws: Window[], from: Date, to: Date) {
  expect(ws.length).toBeGreaterThan(0);
  expect(ws[0].start.getTime()).toBe(from.getTime());
  expect(ws[ws.length - 1].end.getTime()).toBe(to.getTime());
  for (let i = 0; i < ws.length; i++) {
    expect(ws[i].end.getTime()).toBeGreaterThan(ws[i].start.getTime());
    if (i > 0) expect(ws[i].start.getTime()).toBe(ws[i - 1].end.getTime()); // contiguous, no overlap
  }
}

describe('alignDown / nextBoundary', () => {
  it('puts every-4-hours boundaries at 00, 04, 08, 12, 16 and 20 UTC', () => {
    expect(alignDown(iso('2026-11-28T11:59:59.999Z'), 'every_4_hours').toISOString()).toBe('2026-11-28T08:00:00.000Z');
    expect(nextBoundary(iso('2026-11-28T20:00:00Z'), 'every_4_hours').toISOString()).toBe('2026-11-29T00:00:00.000Z');
  });

  it('starts weeks on Monday 00:00 UTC and months on the 1st', () => {
    expect(alignDown(iso('2026-11-29T23:00:00Z'), 'weekly').toISOString()).toBe('2026-11-23T00:00:00.000Z'); // Sunday → Monday before
    expect(alignDown(iso('2026-11-23T00:00:00Z'), 'weekly').toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(nextBoundary(iso('2024-02-29T10:00:00Z'), 'monthly').toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(nextBoundary(iso('2025-12-31T23:59:59Z'), 'monthly').toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(nextBoundary(iso('2025-12-31T23:59:59Z'), 'daily').toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('holds for random instants: boundary ≤ t < next boundary, both aligned, at most one period apart', () => {
    const r = createRng(20261128);
    for (let i = 0; i < 5000; i++) {
      const f = r.pick(FREQUENCIES);
      const t = drawInstant(r);
      const down = alignDown(t, f);
      const next = nextBoundary(t, f);
      expect(down.getTime()).toBeLessThanOrEqual(t.getTime());
      expect(next.getTime()).toBeGreaterThan(t.getTime());
      expect(isAligned(down, f)).toBe(true);
      expect(isAligned(next, f)).toBe(true);
      expect(alignDown(next, f).getTime()).toBe(next.getTime());
      const len = next.getTime() - down.getTime();
      const expected: Record<Frequency, number[]> = {
        every_4_hours: [4 * HOUR],
        daily: [DAY],
        weekly: [7 * DAY],
        monthly: [28 * DAY, 29 * DAY, 30 * DAY, 31 * DAY],
      };
      expect(expected[f]).toContain(len);
      if (f === 'weekly') expect(down.getUTCDay()).toBe(1);
      if (f === 'monthly') expect(down.getUTCDate()).toBe(1);
      if (f !== 'every_4_hours') expect(down.getUTCHours()).toBe(0);
      else expect(down.getUTCHours() % 4).toBe(0);
      expect(down.getUTCMinutes() + down.getUTCSeconds() + down.getUTCMilliseconds()).toBe(0);
    }
  });
});

describe('windows of a schedule', () => {
  it('starts the first window at the start date and cuts the last at the end date', () => {
    const ws = windowsOf({ frequency: 'every_4_hours', startDate: iso('2026-11-28T09:30:00Z'), endDate: iso('2026-11-29T02:00:00Z') });
    expect(ws.map((w) => [w.start.toISOString(), w.end.toISOString()])).toEqual([
      ['2026-11-28T09:30:00.000Z', '2026-11-28T12:00:00.000Z'],
      ['2026-11-28T12:00:00.000Z', '2026-11-28T16:00:00.000Z'],
      ['2026-11-28T16:00:00.000Z', '2026-11-28T20:00:00.000Z'],
      ['2026-11-28T20:00:00.000Z', '2026-11-29T00:00:00.000Z'],
      ['2026-11-29T00:00:00.000Z', '2026-11-29T02:00:00.000Z'],
    ]);
  });

  it('gives monthly windows the real month lengths across a leap February and a year end', () => {
    const ws = windowsOf({ frequency: 'monthly', startDate: iso('2023-12-15T00:00:00Z'), endDate: iso('2024-04-01T00:00:00Z') });
    expect(ws.map((w) => w.start.toISOString().slice(0, 10))).toEqual(['2023-12-15', '2024-01-01', '2024-02-01', '2024-03-01']);
    expect(ws[2].end.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect((ws[2].end.getTime() - ws[2].start.getTime()) / DAY).toBe(29);
  });

  it('tiles random schedules: contiguous, non-overlapping, aligned inside, capped by the end date', () => {
    const r = createRng(42);
    for (let i = 0; i < 400; i++) {
      const f = r.pick(FREQUENCIES);
      const startDate = drawInstant(r);
      const spanDays = f === 'monthly' ? r.int(1, 800) : f === 'weekly' ? r.int(1, 200) : r.int(1, 40);
      const endDate = new Date(startDate.getTime() + r.int(1, spanDays * 24) * HOUR - r.int(0, 1) * 1000);
      const ws = windowsOf({ frequency: f, startDate, endDate });
      expectTiling(ws, startDate, endDate);
      for (let k = 1; k < ws.length; k++) expect(isAligned(ws[k].start, f)).toBe(true);
      for (let k = 0; k < ws.length - 1; k++) expect(isAligned(ws[k].end, f)).toBe(true);
      // Every instant of the range falls in exactly one window, and windowAt finds it.
      for (let k = 0; k < 5; k++) {
        const t = new Date(startDate.getTime() + Math.floor(r.next() * (endDate.getTime() - startDate.getTime())));
        const hits = ws.filter((w) => w.start <= t && t < w.end);
        expect(hits).toHaveLength(1);
        expect(windowAt({ frequency: f, startDate, endDate }, t)).toEqual(hits[0]);
      }
      // Boundaries belong to the window that starts there (half-open).
      for (const w of ws.slice(1)) expect(windowAt({ frequency: f, startDate, endDate }, w.start)).toEqual(w);
      expect(windowAt({ frequency: f, startDate, endDate }, endDate)).toBeUndefined();
      expect(windowAt({ frequency: f, startDate, endDate }, new Date(startDate.getTime() - 1))).toBeUndefined();
    }
  });
});

describe('windowsEndingIn (the planner)', () => {
  it('lists the windows that end after the cursor and at or before the settle point', () => {
    const schedule = { frequency: 'every_4_hours' as const, startDate: iso('2026-11-28T00:00:00Z') };
    const ws = windowsEndingIn(schedule, iso('2026-11-28T08:00:00Z'), iso('2026-11-28T16:05:00Z'));
    expect(ws.map((w) => w.start.toISOString())).toEqual(['2026-11-28T08:00:00.000Z', '2026-11-28T12:00:00.000Z']);
    // A window ending exactly at "until" is due; one ending a millisecond later is not.
    expect(windowsEndingIn(schedule, iso('2026-11-28T12:00:00Z'), iso('2026-11-28T16:00:00Z'))).toHaveLength(1);
    expect(windowsEndingIn(schedule, iso('2026-11-28T12:00:00Z'), iso('2026-11-28T15:59:59.999Z'))).toHaveLength(0);
    expect(windowsEndingIn(schedule, null, iso('2026-11-28T03:59:59Z'))).toHaveLength(0);
  });

  it('never lists a window twice or skips one, however the ticks fall (random cursors)', () => {
    const r = createRng(7);
    for (let i = 0; i < 200; i++) {
      const f = r.pick(FREQUENCIES);
      const startDate = drawInstant(r);
      const endDate = r.int(0, 2) === 0 ? new Date(startDate.getTime() + r.int(1, 2000) * HOUR) : null;
      const schedule = { frequency: f, startDate, endDate };
      const horizon = new Date(startDate.getTime() + (f === 'monthly' ? 900 : f === 'weekly' ? 200 : 30) * DAY);
      // Ticks at random instants; the cursor moves to the last planned window's end (or stays).
      let cursor: Date | null = null;
      let t = startDate.getTime() - r.int(0, 48) * HOUR;
      const planned: Window[] = [];
      while (t < horizon.getTime()) {
        t += r.int(1, f === 'monthly' ? 24 * 40 : 24 * 3) * HOUR - r.int(0, 3600) * 1000;
        const batch = windowsEndingIn(schedule, cursor, new Date(t), r.int(1, 5));
        planned.push(...batch);
        if (batch.length) cursor = batch[batch.length - 1].end;
      }
      // The last tick catches up in batches, as the planner does on its next ticks.
      for (
        let batch = windowsEndingIn(schedule, cursor, new Date(t), 3);
        batch.length;
        batch = windowsEndingIn(schedule, cursor, new Date(t), 3)
      ) {
        planned.push(...batch);
        cursor = batch[batch.length - 1].end;
      }
      const all = windowsEndingIn(schedule, null, new Date(t));
      expect(planned).toEqual(all);
      if (all.length) expectTiling(all, startDate, all[all.length - 1].end);
      if (endDate) for (const w of all) expect(w.end.getTime()).toBeLessThanOrEqual(endDate.getTime());
    }
  });

  it('returns nothing once the end date has passed the cursor', () => {
    const schedule = { frequency: 'daily' as const, startDate: iso('2026-01-01T00:00:00Z'), endDate: iso('2026-01-03T12:00:00Z') };
    expect(windowsEndingIn(schedule, iso('2026-01-03T12:00:00Z'), iso('2027-01-01T00:00:00Z'))).toEqual([]);
    const last = windowsEndingIn(schedule, iso('2026-01-03T00:00:00Z'), iso('2027-01-01T00:00:00Z'));
    expect(last).toEqual([{ start: iso('2026-01-03T00:00:00Z'), end: iso('2026-01-03T12:00:00Z') }]);
  });
});

describe('monthlyChunks (historical requests)', () => {
  it('splits a range at every 1st of the month, across a leap day and a year end', () => {
    const chunks = monthlyChunks(iso('2023-11-20T06:00:00Z'), iso('2024-03-02T00:00:00Z'));
    expect(chunks.map((c) => [c.start.toISOString(), c.end.toISOString()])).toEqual([
      ['2023-11-20T06:00:00.000Z', '2023-12-01T00:00:00.000Z'],
      ['2023-12-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
      ['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z'],
      ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
      ['2024-03-01T00:00:00.000Z', '2024-03-02T00:00:00.000Z'],
    ]);
  });

  it('tiles random ranges with calendar months', () => {
    const r = createRng(99);
    for (let i = 0; i < 300; i++) {
      const from = drawInstant(r);
      const to = new Date(from.getTime() + r.int(1, 1000 * 24) * HOUR);
      const chunks = monthlyChunks(from, to);
      expectTiling(chunks, from, to);
      for (const c of chunks) {
        expect(c.start.getUTCMonth() === new Date(c.end.getTime() - 1).getUTCMonth()).toBe(true);
        expect(c.start.getUTCFullYear()).toBe(new Date(c.end.getTime() - 1).getUTCFullYear());
      }
    }
    expect(monthlyChunks(iso('2026-01-01T00:00:00Z'), iso('2026-01-01T00:00:00Z'))).toEqual([]);
  });
});
