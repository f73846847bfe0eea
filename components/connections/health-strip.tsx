// A connection's health at a glance, at the top of its page: its status, the last delivery, when the
// next files are expected (next_delivery, lib/scheduling/next-delivery.ts), the failed windows of the
// last 7 days, and the last scheduled windows as a row of status marks, each a link to its run.
'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState, type ReactNode } from 'react';
import { api, type Page } from '@/components/api/client';
import type { Connection, Run } from '@/lib/management/responses';
import { runStatusLabel } from '@/lib/runs/vocabulary';
import { dt, duration, windowShort } from '@/components/ui/formatters';
import { StatusBadge } from '@/components/ui/primitives';
import { CONNECTIONS_PATH } from './paths';

/** The scheduled windows the strip shows. */
const MARKS = 14;
const WEEK_MS = 7 * 86_400_000;

/** A mark's colour by what became of the window. */
const MARK_CLASS: Record<string, string> = {
  delivered: 'bg-emerald-500',
  available: 'bg-emerald-500',
  empty: 'bg-slate-300',
  failed: 'bg-red-600',
  cancelled: 'bg-slate-200',
};
const markClass = (status: string) => MARK_CLASS[status] ?? 'bg-sky-400 animate-pulse motion-reduce:animate-none';

/** The page's link to one run: the Event History with that run's details open. */
export const runHref = (connectionId: string, runId: string) => `${CONNECTIONS_PATH}/${connectionId}?tab=history&run=${runId}`;

function Item({ term, children, testId }: { term: string; children: ReactNode; testId: string }) {
  return (
    <div className="min-w-0" data-testid={testId}>
      <dt className="text-xs font-medium text-slate-500">{term}</dt>
      <dd className="mt-1 text-sm text-slate-900">{children}</dd>
    </div>
  );
}

function NextDelivery({ connection: c, now }: { connection: Connection; now: number }) {
  const n = c.next_delivery;
  if (!n) {
    const why =
      c.status === 'paused' || c.status === 'pausing'
        ? 'None while paused: resume to deliver the windows missed meanwhile'
        : c.status === 'stopped'
          ? 'None while stopped'
          : c.status === 'ended'
            ? 'None: the schedule has ended'
            : 'Being planned';
    return <span className="text-slate-600">{why}</span>;
  }
  const ms = new Date(n.expected_at).getTime() - now;
  return (
    <span data-expected-at={n.expected_at}>
      <span className="font-medium">{dt(n.expected_at)}</span>
      <span className="block text-xs text-slate-600">
        {ms < 90_000 ? 'any minute now' : `in ${duration(ms / 1000)}`} · window {windowShort(n.window_start, n.window_end)}
        {n.in_flight ? ', being exported or delivered' : ''}
      </span>
      <span className="block text-xs text-slate-500">
        {n.lag_from_history
          ? `Its usual lag: ${duration(n.lag_seconds)} after a window closes`
          : `${duration(n.lag_seconds)} after the window closes (the settle delay; no delivery seen yet)`}
      </span>
    </span>
  );
}

export function HealthStrip({ program, connection: c }: { program: number; connection: Connection }) {
  // "in 8h 26m" and the last 7 days move on while the page stays open.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);
  const windows = useQuery({
    queryKey: ['health-windows', program, c.id],
    queryFn: () => api<Page<Run>>(`/api/v1/connections/${c.id}/runs`, program, { query: { export_type: 'incremental', limit: MARKS } }),
    refetchInterval: 15_000,
  });
  const failures = useQuery({
    queryKey: ['health-failures', program, c.id],
    queryFn: () =>
      api<Page<Run>>(`/api/v1/connections/${c.id}/runs`, program, {
        query: { status: 'failed', from: new Date(now - WEEK_MS).toISOString(), limit: 200 },
      }),
    refetchInterval: 30_000,
  });
  const marks = [...(windows.data?.data ?? [])].reverse();
  const failed = failures.data ? failures.data.data.length : null;
  const weekAgo = new Date(now - WEEK_MS).toISOString().slice(0, 10);

  return (
    <section
      aria-label="Health"
      data-testid="health-strip"
      className="rounded-xl border border-slate-200 bg-white px-4 py-4 shadow-xs sm:px-5"
    >
      <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Item term="Status" testId="health-status">
          <StatusBadge status={c.status} />
        </Item>
        <Item term="Last delivery" testId="health-last-delivery">
          {c.last_delivery ? (
            <span className="inline-flex flex-wrap items-center gap-1.5">
              <StatusBadge status={c.last_delivery.status} />
              <Link href={runHref(c.id, c.last_delivery.run_id)} className="text-brand-700 hover:underline">
                {dt(c.last_delivery.finished_at)}
              </Link>
            </span>
          ) : (
            <span className="text-slate-600">None yet</span>
          )}
        </Item>
        <Item term="Next delivery expected" testId="next-delivery">
          <NextDelivery connection={c} now={now} />
        </Item>
        <Item term="Failures, last 7 days" testId="health-failures">
          {failed === null ? (
            <span className="text-slate-500">…</span>
          ) : failed === 0 ? (
            <span className="text-emerald-700">None</span>
          ) : (
            <Link
              href={`${CONNECTIONS_PATH}/${c.id}?tab=history&status=failed&from=${weekAgo}`}
              className="font-medium text-red-700 hover:underline"
            >
              {failed}
              {failures.data?.next_cursor ? '+' : ''} failed {failed === 1 ? 'window' : 'windows'}
            </Link>
          )}
        </Item>
      </dl>
      <div className="mt-4 border-t border-slate-100 pt-3">
        <p className="text-xs font-medium text-slate-500" id={`marks-${c.id}`}>
          Last scheduled windows, oldest first
        </p>
        {windows.isError ? (
          <p className="mt-1 text-xs text-red-700">The last windows could not be loaded.</p>
        ) : marks.length === 0 ? (
          <p className="mt-1 text-xs text-slate-600">{windows.isPending ? 'Loading…' : 'No window has closed yet.'}</p>
        ) : (
          <ol className="mt-1.5 flex flex-wrap gap-1" aria-labelledby={`marks-${c.id}`}>
            {marks.map((r) => {
              const label = `${windowShort(r.window_start, r.window_end)}: ${runStatusLabel(r.status)}`;
              return (
                <li key={r.id}>
                  <Link
                    href={runHref(c.id, r.id)}
                    aria-label={label}
                    title={label}
                    data-testid="window-mark"
                    data-status={r.status}
                    className={`block h-6 w-4 rounded-sm outline-offset-2 hover:opacity-80 ${markClass(r.status)}`}
                  />
                </li>
              );
            })}
          </ol>
        )}
      </div>
    </section>
  );
}
