// "Next delivery expected at …": from the schedule, the settle delay and the lag seen so far, never
// in the past; after an edit of the schedule, the window the new schedule starts with.
import { describe, expect, it } from 'vitest';
import { isCatchUp, nextDelivery, nextWindowOf, typicalLag, type ScheduleState } from './next-delivery';

const at = (s: string) => new Date(s);
const MIN = 60_000;
const settleMs = 5 * MIN;
const daily: ScheduleState = {
  frequency: 'daily',
  startDate: at('2026-11-01T00:00:00Z'),
  endDate: null,
  plannedThrough: at('2026-12-07T00:00:00Z'),
};
const active = (s: ScheduleState) => ({ ...s, status: 'active' as const, deletedAt: null });
const iso = (n: ReturnType<typeof nextDelivery>) =>
  n && { window: [n.window.start.toISOString(), n.window.end.toISOString()], expectedAt: n.expectedAt.toISOString(), lagMs: n.lagMs };

describe('the next delivery of a connection', () => {
  it('at 15:40 a daily connection’s next files are expected after tonight’s window has closed and settled, not at 00:00 today', () => {
    const n = nextDelivery(active(daily), { recentLagsMs: [] }, { now: at('2026-12-07T15:40:00Z'), settleMs });
    expect(iso(n)).toEqual({
      window: ['2026-12-07T00:00:00.000Z', '2026-12-08T00:00:00.000Z'],
      expectedAt: '2026-12-08T00:06:00.000Z',
      lagMs: 6 * MIN,
    });
  });

  it('uses the median lag of the recent live windows when it is longer than the settle delay', () => {
    const lags = [9 * MIN, 12 * MIN, 40 * MIN, 11 * MIN];
    expect(typicalLag(lags)).toBe(11.5 * MIN);
    const n = nextDelivery(active(daily), { recentLagsMs: lags }, { now: at('2026-12-07T15:40:00Z'), settleMs });
    expect(n?.expectedAt.toISOString()).toBe('2026-12-08T00:11:30.000Z');
    expect(n?.fromHistory).toBe(true);
  });

  it('is never in the past: a window closed but not delivered yet is expected now', () => {
    const now = at('2026-12-08T00:03:00Z');
    const n = nextDelivery(active(daily), { recentLagsMs: [] }, { now, settleMs });
    expect(n?.expectedAt.toISOString()).toBe('2026-12-08T00:06:00.000Z');
    const later = at('2026-12-08T02:00:00Z');
    expect(nextDelivery(active(daily), { recentLagsMs: [] }, { now: later, settleMs })?.expectedAt.toISOString()).toBe(later.toISOString());
    // A planned window still in flight comes first, also never in the past.
    const inFlight = { start: at('2026-12-06T00:00:00Z'), end: at('2026-12-07T00:00:00Z') };
    const n2 = nextDelivery(active(daily), { recentLagsMs: [], oldestUnfinished: inFlight }, { now: at('2026-12-07T15:40:00Z'), settleMs });
    expect(n2 && [n2.window.start.toISOString(), n2.expectedAt.toISOString(), n2.inFlight]).toEqual([
      '2026-12-06T00:00:00.000Z',
      '2026-12-07T15:40:00.000Z',
      true,
    ]);
  });

  it('after changing every 4 hours to daily, the new schedule starts where planning stopped, not with a window already delivered', () => {
    const edited: ScheduleState = { ...daily, frequency: 'daily', plannedThrough: at('2026-12-07T12:00:00Z') };
    const w = nextWindowOf(edited);
    expect([w?.start.toISOString(), w?.end.toISOString()]).toEqual(['2026-12-07T12:00:00.000Z', '2026-12-08T00:00:00.000Z']);
    // And the other way: daily to every 4 hours goes on in 4-hour windows from midnight.
    const w4 = nextWindowOf({ ...daily, frequency: 'every_4_hours' });
    expect([w4?.start.toISOString(), w4?.end.toISOString()]).toEqual(['2026-12-07T00:00:00.000Z', '2026-12-07T04:00:00.000Z']);
    // A start date moved into the future: the first window starts there.
    const moved = nextWindowOf({ ...daily, startDate: at('2026-12-20T00:00:00Z') });
    expect(moved?.start.toISOString()).toBe('2026-12-20T00:00:00.000Z');
  });

  it('month ends and leap days: a monthly window of February 2028 ends on March 1', () => {
    const monthly: ScheduleState = {
      frequency: 'monthly',
      startDate: at('2027-01-01T00:00:00Z'),
      endDate: null,
      plannedThrough: at('2028-02-01T00:00:00Z'),
    };
    const n = nextDelivery(active(monthly), { recentLagsMs: [] }, { now: at('2028-02-29T23:59:00Z'), settleMs });
    expect(iso(n)?.window).toEqual(['2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z']);
    expect(n?.expectedAt.toISOString()).toBe('2028-03-01T00:06:00.000Z');
  });

  it('none while not active, and none once the end date has been reached', () => {
    for (const status of ['paused', 'pausing', 'stopped', 'ended'] as const) {
      expect(
        nextDelivery({ ...daily, status, deletedAt: null }, { recentLagsMs: [] }, { now: at('2026-12-07T15:40:00Z'), settleMs }),
      ).toBeNull();
    }
    const ended = { ...daily, endDate: at('2026-12-07T00:00:00Z') };
    expect(nextDelivery(active(ended), { recentLagsMs: [] }, { now: at('2026-12-07T15:40:00Z'), settleMs })).toBeNull();
  });
});

describe('catch-up windows', () => {
  it('a window planned within the settle delay, the planner’s minute and some slack is live; one planned days later is a catch-up', () => {
    const end = at('2026-12-07T00:00:00Z');
    expect(isCatchUp(end, at('2026-12-07T00:05:30Z'), settleMs)).toBe(false);
    expect(isCatchUp(end, at('2026-12-07T00:20:00Z'), settleMs)).toBe(false);
    expect(isCatchUp(end, at('2026-12-07T00:22:00Z'), settleMs)).toBe(true);
    expect(isCatchUp(end, at('2026-12-12T15:00:00Z'), settleMs)).toBe(true);
  });
});
