// The range a historical data request covers, decided in one place for the server and the form:
// From and To are days included whole (UTC); an empty To means up to the connection's start date
// (where its scheduled windows begin) or the end of yesterday when the connection starts later, so
// a backfill never overlaps the scheduled exports and never reaches a day that is not over yet.
// At most 24 months back: the same day 24 months before the request (a day the month lacks becomes its last).
// Pure and client-safe: the form shows the exact UTC range with these functions before it is sent.
import { monthlyChunks, type Window } from '@/lib/windows';
import { dayOf, lastDayBefore, monthsBefore, startOfDay } from '@/lib/windows/days';

export const MAX_HISTORY_MONTHS = 24;

/** The earliest instant a request made at `at` may reach: the same day 24 months earlier (00:00 UTC). */
export function earliestHistoryStart(at: Date): Date {
  return monthsBefore(at, MAX_HISTORY_MONTHS);
}

/** Where a request without a To ends (exclusive): the connection's start, or today's 00:00 UTC when that is earlier. */
export function defaultHistoryEnd(connectionStart: Date, at: Date): Date {
  const today = startOfDay(at);
  return connectionStart.getTime() < today.getTime() ? connectionStart : today;
}

export type HistoricalRange = { start: Date; end: Date; chunks: Window[]; defaulted: boolean };
export type HistoricalRangeError = { field: 'from' | 'to'; message: string };

/**
 * The range of a request: `from` and `to` are instants already read as a range (a day's first
 * instant; a To day's next midnight), `to` absent for the default. The error names the field and the
 * value as the person picked it.
 */
export function resolveHistoricalRange(
  input: { from: Date; to?: Date },
  ctx: { at: Date; connectionStart: Date },
): HistoricalRange | HistoricalRangeError {
  const earliest = earliestHistoryStart(ctx.at);
  const end = input.to ?? defaultHistoryEnd(ctx.connectionStart, ctx.at);
  const fromDay = dayOf(input.from);
  if (input.from.getTime() < earliest.getTime()) {
    return {
      field: 'from',
      message: `From ${fromDay} is more than ${MAX_HISTORY_MONTHS} months back: historical data reaches back to ${dayOf(earliest)} at the earliest.`,
    };
  }
  if (input.to && end.getTime() > ctx.at.getTime()) {
    const lastDay = lastDayBefore(end);
    return {
      field: 'to',
      message: `To ${lastDay} is not over yet: the latest To is ${lastDayBefore(startOfDay(ctx.at))} (the last whole day, UTC).`,
    };
  }
  if (input.from.getTime() >= end.getTime()) {
    return input.to
      ? { field: 'to', message: `To ${lastDayBefore(end)} is before From ${fromDay}: pick a To on or after the From.` }
      : {
          field: 'from',
          message: `From ${fromDay} is not before the default end (${dayOf(end)} 00:00 UTC, ${end.getTime() === ctx.connectionStart.getTime() ? 'the connection’s start date' : 'today'}): pick an earlier From or a To.`,
        };
  }
  return { start: input.from, end, chunks: monthlyChunks(input.from, end), defaulted: !input.to };
}

export function isRangeError(r: HistoricalRange | HistoricalRangeError): r is HistoricalRangeError {
  return 'field' in r;
}
