// Window arithmetic per frequency: where export windows start and end. Pure functions over
// UTC instants; no clock, no database. Windows are half-open [start, end) so an instant on a
// boundary belongs to exactly one window, and they tile a connection's schedule without gaps.
import type { Frequency } from '@/db/schema/connections';

export type Window = { start: Date; end: Date };

/** What the planner knows about a connection's schedule. */
export type Schedule = { frequency: Frequency; startDate: Date; endDate?: Date | null };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The boundary at or before `t`: 00/04/08/12/16/20 UTC, midnight UTC, Monday 00:00 UTC, or the 1st 00:00 UTC. */
export function alignDown(t: Date, frequency: Frequency): Date {
  const ms = t.getTime();
  switch (frequency) {
    case 'every_4_hours':
      return new Date(ms - mod(ms, 4 * HOUR));
    case 'daily':
      return new Date(ms - mod(ms, DAY));
    case 'weekly': {
      const midnight = ms - mod(ms, DAY);
      // getUTCDay: 0 = Sunday … 6 = Saturday; days since Monday:
      const sinceMonday = (new Date(midnight).getUTCDay() + 6) % 7;
      return new Date(midnight - sinceMonday * DAY);
    }
    case 'monthly':
      return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  }
}

/** The first boundary strictly after `t`. */
export function nextBoundary(t: Date, frequency: Frequency): Date {
  const down = alignDown(t, frequency);
  switch (frequency) {
    case 'every_4_hours':
      return new Date(down.getTime() + 4 * HOUR);
    case 'daily':
      return new Date(down.getTime() + DAY);
    case 'weekly':
      return new Date(down.getTime() + 7 * DAY);
    case 'monthly':
      return new Date(Date.UTC(down.getUTCFullYear(), down.getUTCMonth() + 1, 1));
  }
}

export function isAligned(t: Date, frequency: Frequency): boolean {
  return alignDown(t, frequency).getTime() === t.getTime();
}

/**
 * The window of `schedule` that contains instant `t`, or undefined when `t` is before the start
 * date or at/after the end date. The first window starts at the start date (shorter when the
 * start is not aligned); the end date cuts the last one short.
 */
export function windowAt(schedule: Schedule, t: Date): Window | undefined {
  const startMs = schedule.startDate.getTime();
  const endMs = schedule.endDate?.getTime() ?? Infinity;
  const ms = t.getTime();
  if (ms < startMs || ms >= endMs) return undefined;
  const start = Math.max(alignDown(t, schedule.frequency).getTime(), startMs);
  const end = Math.min(nextBoundary(t, schedule.frequency).getTime(), endMs);
  return { start: new Date(start), end: new Date(end) };
}

/**
 * Every window of `schedule` whose end is in (after, until] — for the planner: "windows ending
 * after planned_through and at or before now − settle delay". `after` null = from the start date.
 * `limit` caps the answer (oldest first) so a long-idle connection is planned in batches.
 */
export function windowsEndingIn(schedule: Schedule, after: Date | null, until: Date, limit = Infinity): Window[] {
  const out: Window[] = [];
  const startMs = schedule.startDate.getTime();
  const endMs = schedule.endDate?.getTime() ?? Infinity;
  const afterMs = after ? after.getTime() : -Infinity;
  const untilMs = until.getTime();
  if (endMs <= startMs) return out;
  // The first candidate is the window containing `after` (its end is > after), or the first window.
  let cursor = afterMs < startMs ? startMs : afterMs;
  if (cursor >= endMs) return out;
  while (out.length < limit) {
    const w = windowAt(schedule, new Date(cursor));
    if (!w || w.end.getTime() > untilMs) break;
    if (w.end.getTime() > afterMs) out.push(w);
    cursor = w.end.getTime();
  }
  return out;
}

/** All windows of `schedule` (which must have an end date): [startDate, endDate) cut at every boundary. */
export function windowsOf(schedule: Schedule & { endDate: Date }): Window[] {
  return windowsEndingIn(schedule, null, schedule.endDate);
}

/** [from, to) split at every 1st-of-the-month 00:00 UTC: the chunks of a historical data request. */
export function monthlyChunks(from: Date, to: Date): Window[] {
  return windowsOf({ frequency: 'monthly', startDate: from, endDate: to });
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
