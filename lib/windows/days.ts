// Calendar days as people pick them (YYYY-MM-DD, UTC) and the instants a range of them covers.
// One rule everywhere (historical requests, the lists' filters, the CSV downloads, the API's
// from/to): a range of days includes both days a person picked — from the first instant of the
// first day up to, not including, the first instant of the day after the last.
// Pure and client-safe: the pages show the exact range with the same functions the server applies.

const DAY_MS = 86_400_000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `s` is a calendar day that exists (no 2026-02-31), YYYY-MM-DD. */
export function isDay(s: string): boolean {
  if (!DAY_RE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** The first instant of day `s` (00:00:00 UTC). */
export function dayStart(s: string): Date {
  return new Date(`${s}T00:00:00Z`);
}

/** The first instant after day `s`: the exclusive end of a range whose last day is `s`. */
export function dayAfter(s: string): Date {
  return new Date(dayStart(s).getTime() + DAY_MS);
}

/** The day (YYYY-MM-DD, UTC) instant `d` falls on. */
export function dayOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The last day a range covers, given its exclusive end: 2026-12-01T00:00Z → 2026-11-30. */
export function lastDayBefore(end: Date): string {
  return dayOf(new Date(end.getTime() - 1));
}

/** The start of the day `d` falls on (00:00 UTC). */
export function startOfDay(d: Date): Date {
  return dayStart(dayOf(d));
}

/**
 * A range's start from a day or an exact instant: a day means its first instant. The value is an
 * ISO 8601 date-time with an offset, or YYYY-MM-DD.
 */
export function rangeStartOf(v: string): Date {
  return v.length === 10 ? dayStart(v) : new Date(v);
}

/** A range's exclusive end from a day or an exact instant: a day is included whole (the end is the next day's 00:00 UTC). */
export function rangeEndOf(v: string): Date {
  return v.length === 10 ? dayAfter(v) : new Date(v);
}

/** The same day `months` calendar months earlier, at 00:00 UTC; a day the month lacks (Feb 30) becomes its last. */
export function monthsBefore(at: Date, months: number): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth() - months;
  const lastOfMonth = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(at.getUTCDate(), lastOfMonth)));
}
