// Live progress of a run in flight, as the worker reports it (about once a second): rows written
// while it is exported, bytes uploaded of the total with the time left while it is delivered. The
// bar is a progressbar for assistive technology (indeterminate while the total is not known).
'use client';
import { useEffect, useState } from 'react';
import type { RunProgress as Progress } from '@/lib/management/responses';
import { bytes, num } from '@/components/ui/formatters';

/** Upload silent for this long (as this page sees it): say so instead of a time left. */
const STALLED_AFTER_MS = 15_000;

export function ProgressBar({
  label,
  value,
  max,
  valueText,
  tone = 'brand',
  size = 'md',
}: {
  label: string;
  /** Omitted: indeterminate (the total is not known). */
  value?: number;
  max?: number;
  valueText: string;
  tone?: 'brand' | 'red' | 'slate' | 'amber';
  size?: 'sm' | 'md';
}) {
  const known = value !== undefined && max !== undefined && max > 0;
  const pct = known ? Math.min(100, Math.max(0, (value / max) * 100)) : 0;
  const fill = { brand: 'bg-brand-600', red: 'bg-red-500', slate: 'bg-slate-400', amber: 'bg-amber-500' }[tone];
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={known ? 0 : undefined}
      aria-valuemax={known ? 100 : undefined}
      aria-valuenow={known ? Math.round(pct) : undefined}
      aria-valuetext={valueText}
      className={`relative w-full overflow-hidden rounded-full bg-slate-100 ${size === 'sm' ? 'h-1.5' : 'h-2'}`}
    >
      {known ? (
        <div className={`h-full rounded-full transition-[width] duration-700 ease-out ${fill}`} style={{ width: `${pct}%` }} />
      ) : (
        <div className={`absolute inset-y-0 left-0 w-1/3 animate-pulse rounded-full opacity-60 ${fill}`} />
      )}
    </div>
  );
}

/** "about 2 min left", in the words of a progress line. */
export function timeLeft(seconds: number): string {
  if (seconds <= 5) return 'a few seconds left';
  if (seconds < 60) return `about ${Math.ceil(seconds / 5) * 5} s left`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const h = Math.floor(minutes / 60);
  return `about ${h} h${minutes % 60 ? ` ${minutes % 60} min` : ''} left`;
}

/**
 * How long ago this page first saw `value` (browser time: the server's clock may differ), updated
 * every second while `active`.
 */
function useAgeOf(value: number | null, active: boolean): number {
  const [seen, setSeen] = useState<{ value: number | null; since: number; now: number } | null>(null);
  useEffect(() => {
    if (!active) return;
    const tick = () =>
      setSeen((s) => {
        const t = Date.now();
        return s && s.value === value ? { ...s, now: t } : { value, since: t, now: t };
      });
    const first = setTimeout(tick, 0);
    const timer = setInterval(tick, 1000);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [value, active]);
  return seen && seen.value === value ? seen.now - seen.since : 0;
}

export type ProgressLine = { text: string; bar: { value?: number; max?: number; valueText: string; tone: 'brand' | 'amber' } };

/** What the progress of a run says, `sinceMs` after this page first saw its current numbers. */
export function describeProgress(p: Progress, sinceMs: number): ProgressLine {
  if (p.step === 'export') {
    const text = p.rows_written > 0 ? `Exporting · ${num(p.rows_written)} rows written` : 'Exporting · starting';
    return { text, bar: { valueText: `${num(p.rows_written)} rows written`, tone: 'brand' } };
  }
  if (p.bytes_total === null || p.bytes_done === null) {
    return { text: 'Connecting to the SFTP server…', bar: { valueText: 'Connecting', tone: 'brand' } };
  }
  const pct = p.bytes_total > 0 ? Math.floor((p.bytes_done / p.bytes_total) * 100) : 100;
  const amount = `${bytes(p.bytes_done)} of ${bytes(p.bytes_total)}`;
  const stalled = sinceMs >= STALLED_AFTER_MS && p.bytes_done < p.bytes_total;
  const left = stalled
    ? `no bytes acknowledged for ${Math.round(sinceMs / 1000)} s`
    : p.eta_seconds === null
      ? 'estimating time left'
      : timeLeft(Math.max(0, p.eta_seconds - sinceMs / 1000));
  return {
    text: `Uploading ${amount} · ${pct}% · ${left}`,
    bar: { value: p.bytes_done, max: p.bytes_total, valueText: `${amount} uploaded, ${left}`, tone: stalled ? 'amber' : 'brand' },
  };
}

/** The progress line and bar of a run in flight. `label` names what is in progress for the bar. */
export function RunProgress({ progress, label, size = 'md' }: { progress: Progress; label: string; size?: 'sm' | 'md' }) {
  const current = progress.step === 'export' ? progress.rows_written : progress.bytes_done;
  const line = describeProgress(progress, useAgeOf(current, progress.step === 'delivery'));
  return (
    <div className="mt-1.5 w-full min-w-40" data-testid="run-progress">
      <ProgressBar label={label} size={size} {...line.bar} />
      <p className="mt-1 text-[11px] leading-4 text-slate-600 tabular-nums">{line.text}</p>
    </div>
  );
}
