// The range a historical request covers: days included whole, the default end, the 24-month limit,
// at month ends and leap days.
import { describe, expect, it } from 'vitest';
import { dayAfter, dayStart, monthsBefore, rangeEndOf, rangeStartOf } from '@/lib/windows/days';
import { defaultHistoryEnd, earliestHistoryStart, isRangeError, resolveHistoricalRange } from './range';

const at = (s: string) => new Date(s);
const days = (from: string, to?: string) => ({ from: dayStart(from), ...(to ? { to: dayAfter(to) } : {}) });
const span = (r: ReturnType<typeof resolveHistoricalRange>) =>
  isRangeError(r) ? r : { start: r.start.toISOString(), end: r.end.toISOString(), months: r.chunks.length, defaulted: r.defaulted };

describe('a day picked as To is exported whole', () => {
  const ctx = { at: at('2026-12-07T15:40:00Z'), connectionStart: at('2026-12-01T00:00:00Z') };

  it('Oct 10 → Nov 30 exports Nov 30 up to its last second', () => {
    expect(span(resolveHistoricalRange(days('2026-10-10', '2026-11-30'), ctx))).toEqual({
      start: '2026-10-10T00:00:00.000Z',
      end: '2026-12-01T00:00:00.000Z',
      months: 2,
      defaulted: false,
    });
  });

  it('one day is a range: From = To exports that day', () => {
    expect(span(resolveHistoricalRange(days('2026-11-30', '2026-11-30'), ctx))).toMatchObject({
      start: '2026-11-30T00:00:00.000Z',
      end: '2026-12-01T00:00:00.000Z',
      months: 1,
    });
  });

  it('month ends: To on Jan 31 stops at Feb 1 00:00; To on Feb 28 of a leap year leaves Feb 29 out, To on Feb 29 takes it', () => {
    const c = { at: at('2028-06-01T12:00:00Z'), connectionStart: at('2028-06-01T00:00:00Z') };
    expect(span(resolveHistoricalRange(days('2028-01-15', '2028-01-31'), c))).toMatchObject({ end: '2028-02-01T00:00:00.000Z', months: 1 });
    expect(span(resolveHistoricalRange(days('2028-02-01', '2028-02-28'), c))).toMatchObject({ end: '2028-02-29T00:00:00.000Z', months: 1 });
    expect(span(resolveHistoricalRange(days('2028-02-01', '2028-02-29'), c))).toMatchObject({ end: '2028-03-01T00:00:00.000Z', months: 1 });
    expect(span(resolveHistoricalRange(days('2027-12-31', '2028-03-01'), c))).toMatchObject({
      start: '2027-12-31T00:00:00.000Z',
      end: '2028-03-02T00:00:00.000Z',
      months: 4,
    });
  });

  it('yesterday is the latest To; today is refused naming the day, since it is not over', () => {
    expect(span(resolveHistoricalRange(days('2026-11-01', '2026-12-06'), ctx))).toMatchObject({ end: '2026-12-07T00:00:00.000Z' });
    expect(resolveHistoricalRange(days('2026-11-01', '2026-12-07'), ctx)).toEqual({
      field: 'to',
      message: 'To 2026-12-07 is not over yet: the latest To is 2026-12-06 (the last whole day, UTC).',
    });
  });

  it('a To before the From is refused naming both days', () => {
    expect(resolveHistoricalRange(days('2026-11-10', '2026-11-09'), ctx)).toEqual({
      field: 'to',
      message: 'To 2026-11-09 is before From 2026-11-10: pick a To on or after the From.',
    });
  });

  it('an exact instant as To is the exclusive end it says', () => {
    const r = resolveHistoricalRange({ from: rangeStartOf('2026-11-01'), to: rangeEndOf('2026-11-15T12:00:00Z') }, ctx);
    expect(span(r)).toMatchObject({ end: '2026-11-15T12:00:00.000Z' });
  });
});

describe('an empty To', () => {
  it('ends where the connection’s scheduled exports begin', () => {
    const ctx = { at: at('2026-12-07T15:40:00Z'), connectionStart: at('2026-12-05T00:00:00Z') };
    expect(span(resolveHistoricalRange(days('2026-10-01'), ctx))).toEqual({
      start: '2026-10-01T00:00:00.000Z',
      end: '2026-12-05T00:00:00.000Z',
      months: 3,
      defaulted: true,
    });
  });

  it('ends at today’s 00:00 UTC when the connection starts later (never a day that is not over)', () => {
    const ctx = { at: at('2026-12-07T15:40:00Z'), connectionStart: at('2026-12-20T00:00:00Z') };
    expect(defaultHistoryEnd(ctx.connectionStart, ctx.at).toISOString()).toBe('2026-12-07T00:00:00.000Z');
    expect(span(resolveHistoricalRange(days('2026-12-01'), ctx))).toMatchObject({ end: '2026-12-07T00:00:00.000Z', defaulted: true });
  });

  it('a From on or after that end is refused, saying what the end was', () => {
    const ctx = { at: at('2026-12-07T15:40:00Z'), connectionStart: at('2026-12-05T00:00:00Z') };
    expect(resolveHistoricalRange(days('2026-12-05'), ctx)).toEqual({
      field: 'from',
      message:
        'From 2026-12-05 is not before the default end (2026-12-05 00:00 UTC, the connection’s start date): pick an earlier From or a To.',
    });
  });
});

describe('the 24-month limit', () => {
  it('reaches the same day 24 months back, and not a day more', () => {
    const ctx = { at: at('2026-11-28T10:00:00Z'), connectionStart: at('2026-11-01T00:00:00Z') };
    expect(earliestHistoryStart(ctx.at).toISOString()).toBe('2024-11-28T00:00:00.000Z');
    const full = resolveHistoricalRange(days('2024-11-28', '2026-10-31'), ctx);
    expect(span(full)).toMatchObject({ start: '2024-11-28T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z', months: 24 });
    expect(resolveHistoricalRange(days('2024-11-27', '2026-10-31'), ctx)).toEqual({
      field: 'from',
      message: 'From 2024-11-27 is more than 24 months back: historical data reaches back to 2024-11-28 at the earliest.',
    });
  });

  it('from a leap day, 24 months back is the last day of that February; from a month’s 31st, the 30th of a shorter month', () => {
    expect(earliestHistoryStart(at('2028-02-29T08:00:00Z')).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(earliestHistoryStart(at('2026-12-31T23:59:59Z')).toISOString()).toBe('2024-12-31T00:00:00.000Z');
    expect(monthsBefore(at('2026-05-31T00:00:00Z'), 24).toISOString()).toBe('2024-05-31T00:00:00.000Z');
    expect(monthsBefore(at('2026-07-31T00:00:00Z'), 1).toISOString()).toBe('2026-06-30T00:00:00.000Z');
    expect(monthsBefore(at('2026-03-31T00:00:00Z'), 25).toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });
});

describe('days as the API reads them', () => {
  it('from=day is its first instant, to=day its next midnight; instants stay as they are', () => {
    expect(rangeStartOf('2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(rangeEndOf('2024-02-29').toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(rangeEndOf('2026-12-31').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(rangeEndOf('2026-12-31T10:00:00+02:00').toISOString()).toBe('2026-12-31T08:00:00.000Z');
  });
});
