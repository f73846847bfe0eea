// Formatting for the pages: UTC dates (windows and files are UTC), sizes, counts, durations, countdowns.

const dateTime = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23' });
const dateOnly = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' });
const exact = new Intl.DateTimeFormat('en-US', {
  dateStyle: 'medium',
  timeStyle: 'medium',
  timeZone: 'UTC',
  hourCycle: 'h23',
});
const shortDate = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });

export function dt(s: string | null | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : `${dateTime.format(d)} UTC`;
}
export function dateStr(s: string | null | undefined): string {
  if (!s) return '—';
  const d = new Date(s.length === 10 ? `${s}T00:00:00Z` : s);
  return Number.isNaN(d.getTime()) ? s : dateOnly.format(d);
}
export function shortDay(s: string): string {
  return shortDate.format(new Date(s));
}
const shortTime = new Intl.DateTimeFormat('en-US', {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});
/** A window in a table cell or a mark's label: "Dec 2, 00:00 → Dec 3, 00:00 UTC" (no years). */
export function windowShort(start: string, end: string): string {
  return `${shortTime.format(new Date(start))} → ${shortTime.format(new Date(end))} UTC`;
}
export function windowLabel(start: string, end: string): string {
  return `${dt(start)} → ${dt(end)}`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
export const num = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toLocaleString('en-US'));

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "in 6d 4h", "expired". */
export function countdown(to: string, now: number): string {
  const ms = new Date(to).getTime() - now;
  if (ms <= 0) return 'Expired';
  return `Expires in ${duration(ms / 1000)}`;
}

export function todayIso(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * A date filter's query: the days as picked (YYYY-MM-DD), empty when unset. The API reads a day as
 * the whole day at both ends (lib/windows/days.ts), so the list, its CSV download and a link shared
 * with a developer all include the To day.
 */
export function dayRange(from: string, to: string): { from: string; to: string } {
  return { from, to };
}

/** The days a range [start, end) covers, both included: "Oct 10, 2026 – Nov 30, 2026". */
export function daysLabel(start: string, end: string): string {
  const last = new Date(new Date(end).getTime() - 1).toISOString();
  return `${dateStr(start)} – ${dateStr(last)}`;
}

/** A range [start, end) to the second: "Oct 10, 2026 00:00:00 UTC through Nov 30, 2026 23:59:59 UTC". */
export function exactRange(start: Date, end: Date): string {
  return `${exact.format(start)} UTC through ${exact.format(new Date(end.getTime() - 1000))} UTC`;
}
