// Formatting shared by pages: dates in UTC (windows and files are UTC), frequencies and statuses in admins' words.
import type { ConnectionStatus, Frequency } from '@/db/schema';

const dateTime = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23' });
const dateOnly = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' });

export const formatDateTime = (d: Date) => `${dateTime.format(d)} UTC`;
export const formatDate = (d: Date) => dateOnly.format(d);

export const FREQUENCY_LABELS: Record<Frequency, string> = {
  every_4_hours: 'Every 4 hours',
  daily: 'Daily',
  weekly: 'Weekly',
  monthly: 'Monthly',
};

export const STATUS_STYLES: Record<ConnectionStatus, { label: string; className: string }> = {
  active: { label: 'Active', className: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20' },
  pausing: { label: 'Pausing', className: 'bg-amber-50 text-amber-800 ring-amber-600/25' },
  paused: { label: 'Paused', className: 'bg-slate-100 text-slate-700 ring-slate-500/20' },
  stopped: { label: 'Stopped', className: 'bg-red-50 text-red-700 ring-red-600/20' },
  ended: { label: 'Ended', className: 'bg-slate-100 text-slate-600 ring-slate-500/20' },
};
