// When a connection's next files are expected, and which windows were caught up rather than
// delivered live. One home for the page (Overview, health strip), the API (next_delivery on a
// connection) and the charts (catch-up windows drawn apart). Pure: the caller passes the clock,
// the settle delay (DDE_SETTLE_MINUTES) and the lags seen so far.
//
// The next window is the one the planner writes next: after an edit of the schedule, planning
// continues from where it stopped (planned_through) with the new frequency, so that window is where
// the new schedule starts. Its files are expected once it has closed, settled and been exported and
// delivered — as long after its end as the connection's live windows took lately (never less than
// the settle delay plus the planner's minute) — and never at a time already past.
import { windowsEndingIn, type Schedule, type Window } from '@/lib/windows';
import type { ConnectionStatus, Frequency } from '@/db/schema/enums';

/** The planner's tick: a window that has settled is planned within a minute. */
export const PLANNER_TICK_MS = 60_000;
/** Planned this long after the window settled or later: a catch-up (a start date in the past, a resume, a worker that was down). */
export const CATCH_UP_SLACK_MS = 15 * 60_000;
/** Live windows whose lag is the "lag seen so far". */
export const RECENT_LAGS = 10;

const FAR_FUTURE = new Date(8.64e15);

export type ScheduleState = {
  frequency: Frequency;
  startDate: Date;
  endDate: Date | null;
  plannedThrough: Date | null;
};

/** The schedule the planner follows: from planned_through once windows have been planned (so an edit never re-exports or skips), else from the start date. */
export function plannedSchedule(c: ScheduleState): Schedule {
  const through = c.plannedThrough;
  return { frequency: c.frequency, startDate: through && through > c.startDate ? through : c.startDate, endDate: c.endDate };
}

/** The next window the planner has not written yet; undefined once the schedule has ended. */
export function nextWindowOf(c: ScheduleState): Window | undefined {
  return windowsEndingIn(plannedSchedule(c), null, FAR_FUTURE, 1)[0];
}

/** Whether a window was exported as a catch-up: its run was planned well after the window had settled. */
export function isCatchUp(windowEnd: Date, plannedAt: Date, settleMs: number): boolean {
  return plannedAt.getTime() - windowEnd.getTime() > settleMs + PLANNER_TICK_MS + CATCH_UP_SLACK_MS;
}

/** The median of some lags (ms), or null without any. */
export function typicalLag(lagsMs: readonly number[]): number | null {
  if (lagsMs.length === 0) return null;
  const sorted = [...lagsMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

export type NextDelivery = {
  /** The window whose files come next. */
  window: Window;
  /** When they are expected: never before `now`. */
  expectedAt: Date;
  /** The lag (window end → delivered) that the estimate used. */
  lagMs: number;
  /** Whether the lag is the median of the connection's recent live windows (false: the settle delay and the planner's minute, for want of any). */
  fromHistory: boolean;
  /** True when a window already planned is still being exported or delivered (its files come first). */
  inFlight: boolean;
};

export type DeliveryTimings = {
  /** Lags (ms, window end → delivered or available) of the recent live windows, catch-ups left out. */
  recentLagsMs: readonly number[];
  /** The oldest scheduled window planned but not finished yet (being exported or delivered, or waiting for it). */
  oldestUnfinished?: Window | null;
};

/**
 * When the next files of a connection are expected; null when none are coming (not active, or the
 * schedule has ended).
 */
export function nextDelivery(
  c: ScheduleState & { status: ConnectionStatus; deletedAt: Date | null },
  timings: DeliveryTimings,
  o: { now: Date; settleMs: number },
): NextDelivery | null {
  if (c.deletedAt || c.status !== 'active') return null;
  const window = timings.oldestUnfinished ?? nextWindowOf(c);
  if (!window) return null;
  const seen = typicalLag(timings.recentLagsMs);
  const floor = o.settleMs + PLANNER_TICK_MS;
  const lagMs = Math.max(floor, seen ?? 0);
  const expected = Math.max(window.end.getTime() + lagMs, o.now.getTime());
  return { window, expectedAt: new Date(expected), lagMs, fromHistory: seen !== null, inFlight: Boolean(timings.oldestUnfinished) };
}
