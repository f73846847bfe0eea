// Historical Data Request: a date range up to 24 months back, submitted as monthly chunks; per request
// a bar of the work done (weighted by the months' rows and bytes, so empty months weigh little) with
// the time left and, for the months being exported or uploaded now, their own progress
// (polled every 2 s while a request is open), and Cancel, behind a confirmation like the connection's actions.
'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '@/components/api/client';
import type { Connection, HistoricalMonth, HistoricalRequest } from '@/lib/management/responses';
import { bytes, dateStr, daysLabel, dt, exactRange, num } from '@/components/ui/formatters';
import { fieldError, Button, Card, Dialog, ErrorNotice, Field, inputClass, Loading, StatusBadge } from '@/components/ui/primitives';
import { runStatusLabel } from '@/lib/runs/vocabulary';
import { defaultHistoryEnd, earliestHistoryStart, isRangeError, resolveHistoricalRange } from '@/lib/historical/range';
import { dayAfter, dayOf, dayStart, isDay, lastDayBefore } from '@/lib/windows/days';
import { ProgressBar, RunProgress, timeLeft } from './run-progress';
import type { Answer } from '@/lib/http/schemas';
import type { configResponse, historicalListResponse } from '@/lib/management/responses';

const ACTIVE = new Set(['pending', 'running']);

/** A month's window [start, end) as the days it covers: "Mar 15, 2026 – Mar 31, 2026". */
const monthRange = (m: HistoricalMonth) => daysLabel(m.window_start, m.window_end);

/**
 * What the form will ask for, in words, before it is sent: the exact UTC range and its monthly
 * chunks, or why it would be refused (the server decides with the same function).
 */
function RangePreview({ from, to, connection, at }: { from: string; to: string; connection: Connection; at: Date }) {
  if (!isDay(from) || (to && !isDay(to))) {
    return <p className="text-sm text-slate-600">Pick the first day to export; the exact range shows here before you submit.</p>;
  }
  const range = resolveHistoricalRange(
    { from: dayStart(from), ...(to ? { to: dayAfter(to) } : {}) },
    { at, connectionStart: new Date(connection.start_date) },
  );
  if (isRangeError(range)) {
    return (
      <p className="text-sm text-red-700" data-testid="historical-range">
        {range.message}
      </p>
    );
  }
  const months = range.chunks.length;
  return (
    <p className="text-sm text-slate-700" data-testid="historical-range">
      {range.defaulted ? (
        <>
          To is empty: up to {range.end.getTime() === new Date(connection.start_date).getTime() ? 'the connection’s start date' : 'today'} (
          {dateStr(range.end.toISOString())}
          ).{' '}
        </>
      ) : null}
      Exports <span className="font-medium">{exactRange(range.start, range.end)}</span> ({months} monthly{' '}
      {months === 1 ? 'chunk' : 'chunks'}).
    </p>
  );
}

/**
 * What a request's progress says: the share of the work done, weighted by its months' rows and bytes
 * (an empty month weighs little), the rows exported of those expected, the bytes uploaded, and the
 * time left while it runs.
 */
export function describeWork(r: HistoricalRequest): { percent: number; text: string; valueText: string } {
  const p = r.progress;
  const open = ACTIVE.has(r.status);
  const percent = p ? p.percent : r.status === 'completed' ? 100 : 0;
  if (!p || !open) return { percent, text: `${num(r.rows_exported)} rows`, valueText: `${percent}% done` };
  const left = p.eta_seconds === null ? 'estimating time left' : timeLeft(p.eta_seconds);
  const uploaded =
    p.bytes_uploaded !== null && p.bytes_to_upload ? ` · ${bytes(p.bytes_uploaded)} of ${bytes(p.bytes_to_upload)} uploaded` : '';
  return {
    percent,
    text: `${percent}% · ${num(p.rows_exported)} of about ${num(p.rows_expected)} rows exported${uploaded} · ${left}`,
    valueText: `${percent}% of the work done (by rows and bytes), ${left}`,
  };
}

function MonthsInProgress({ months }: { months: HistoricalMonth[] }) {
  if (months.length === 0) return null;
  return (
    <ul className="mt-3 space-y-3 border-l-2 border-brand-100 pl-3" aria-label="Months in progress" data-testid="months-in-progress">
      {months.map((m) => (
        <li key={m.run_id} className="text-xs">
          <p className="font-medium text-slate-800">{monthRange(m)}</p>
          {m.progress ? (
            <RunProgress progress={m.progress} label={`Month ${monthRange(m)}`} size="sm" />
          ) : (
            <p className="mt-0.5 text-[11px] text-slate-600">{runStatusLabel(m.status)}</p>
          )}
        </li>
      ))}
    </ul>
  );
}

export function HistoricalRequests({ program, connection, canWrite }: { program: number; connection: Connection; canWrite: boolean }) {
  const qc = useQueryClient();
  const config = useQuery({
    queryKey: ['config', program],
    queryFn: () => api<Answer<typeof configResponse>>('/api/v1/config', program),
    staleTime: 300_000,
  });
  const maxMonths = config.data?.data.max_history_months ?? 24;
  // The page's "now", renewed when the form is used (the range is checked against it as the server will).
  const [at, setAt] = useState(() => new Date());
  const earliest = dayOf(earliestHistoryStart(at));
  const yesterday = lastDayBefore(dayStart(dayOf(at)));
  const defaultEnd = defaultHistoryEnd(new Date(connection.start_date), at);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const key = ['historical', program, connection.id];
  const list = useQuery({
    queryKey: key,
    queryFn: () => api<Answer<typeof historicalListResponse>>(`/api/v1/connections/${connection.id}/historical-requests`, program),
    refetchInterval: (query) => (query.state.data?.data.some((r) => ACTIVE.has(r.status)) ? 2_000 : 30_000),
  });
  const create = useMutation({
    mutationFn: () =>
      api(`/api/v1/connections/${connection.id}/historical-requests`, program, { method: 'POST', body: { from, ...(to ? { to } : {}) } }),
    onSuccess: () => {
      setFrom('');
      setTo('');
      void qc.invalidateQueries({ queryKey: key });
    },
    onError: (e) => {
      if (e instanceof ApiError) setErrors(e.fields);
    },
  });
  const [confirming, setConfirming] = useState<HistoricalRequest | null>(null);
  const cancel = useMutation({
    mutationFn: (id: string) => api(`/api/v1/historical-requests/${id}/cancel`, program, { method: 'POST', body: {} }),
    onSuccess: () => setConfirming(null),
    onSettled: () => void qc.invalidateQueries({ queryKey: key }),
  });

  function submit(ev: FormEvent) {
    ev.preventDefault();
    const now = new Date();
    setAt(now);
    const e: Record<string, string> = {};
    if (!from) e.from = 'Choose the first day to export.';
    else if (!isDay(from)) e.from = `From ${from} is not a date: pick a day.`;
    else if (to && !isDay(to)) e.to = `To ${to} is not a date: pick a day.`;
    else {
      const range = resolveHistoricalRange(
        { from: dayStart(from), ...(to ? { to: dayAfter(to) } : {}) },
        { at: now, connectionStart: new Date(connection.start_date) },
      );
      if (isRangeError(range)) e[range.field] = range.message;
    }
    setErrors(e);
    if (Object.keys(e).length === 0) create.mutate();
  }

  return (
    <div className="space-y-6">
      {canWrite ? (
        <Card title="Request historical data">
          <form onSubmit={submit} noValidate className="space-y-4" aria-label="Request historical data">
            <p className="text-sm text-slate-600">
              Exports past data as monthly chunks, delivered like the scheduled files but marked historical. Up to {maxMonths} months back;
              From and To are included whole (UTC days).
            </p>
            <div className="grid grid-cols-1 gap-4 sm:grid-cols-[1fr_1fr_auto] sm:items-start">
              <Field label="From" error={fieldError(errors, 'from')} hint={`Earliest ${dateStr(earliest)}`}>
                {(p) => (
                  <input
                    {...p}
                    type="date"
                    className={inputClass}
                    value={from}
                    min={earliest}
                    max={yesterday}
                    onChange={(e) => setFrom(e.target.value)}
                  />
                )}
              </Field>
              <Field
                label="To"
                optional
                error={fieldError(errors, 'to')}
                hint={`Empty: through ${dateStr(lastDayBefore(defaultEnd))}, the day before ${defaultEnd.getTime() === new Date(connection.start_date).getTime() ? 'the connection’s start' : 'today'}`}
              >
                {(p) => (
                  <input
                    {...p}
                    type="date"
                    className={inputClass}
                    value={to}
                    min={from || earliest}
                    max={yesterday}
                    onChange={(e) => setTo(e.target.value)}
                  />
                )}
              </Field>
              <div className="sm:pt-7">
                <Button type="submit" variant="primary" busy={create.isPending} className="w-full sm:w-auto">
                  Submit request
                </Button>
              </div>
            </div>
            <RangePreview from={from} to={to} connection={connection} at={at} />
            {create.isError && Object.keys(errors).length === 0 ? (
              <ErrorNotice title="The request was not submitted" error={create.error} />
            ) : null}
          </form>
        </Card>
      ) : null}

      <Card title="Requests">
        {list.isPending ? (
          <Loading label="Loading requests…" />
        ) : list.isError ? (
          <ErrorNotice title="The requests could not be loaded" error={list.error} onRetry={() => void list.refetch()} />
        ) : list.data.data.length === 0 ? (
          <p className="py-6 text-center text-sm text-slate-600">No historical data has been requested for this connection.</p>
        ) : (
          <ul className="divide-y divide-slate-100">
            {list.data.data.map((r) => {
              const work = describeWork(r);
              return (
                <li key={r.id} className="py-3">
                  <div data-testid="historical-request">
                    <div className="flex flex-wrap items-center justify-between gap-2">
                      <p className="text-sm font-medium text-slate-900">{daysLabel(r.range_start, r.range_end)}</p>
                      <div className="flex items-center gap-2">
                        <StatusBadge status={r.status} />
                        {canWrite && ACTIVE.has(r.status) ? (
                          <Button
                            size="sm"
                            onClick={() => {
                              cancel.reset();
                              setConfirming(r);
                            }}
                            aria-label={`Cancel the request for ${daysLabel(r.range_start, r.range_end)}`}
                          >
                            Cancel
                          </Button>
                        ) : null}
                      </div>
                    </div>
                    <div className="mt-2">
                      <ProgressBar
                        label={`Progress of ${daysLabel(r.range_start, r.range_end)}`}
                        value={work.percent}
                        max={100}
                        valueText={work.valueText}
                        tone={r.status === 'failed' ? 'red' : r.status === 'cancelled' ? 'slate' : 'brand'}
                      />
                    </div>
                    <p className="mt-1 text-xs text-slate-600 tabular-nums" data-testid="historical-summary">
                      {r.chunks_done} of {r.chunks_total} months · {work.text} · requested {dt(r.created_at)}
                      {r.finished_at ? ` · finished ${dt(r.finished_at)}` : ''}
                    </p>
                    {r.error ? <p className="mt-1 text-xs text-red-700">{r.error}</p> : null}
                  </div>
                  {/* Beside the request's own summary: the months' bars and states are theirs, not the request's. */}
                  {ACTIVE.has(r.status) ? <MonthsInProgress months={r.months_in_progress} /> : null}
                </li>
              );
            })}
          </ul>
        )}
      </Card>
      <Dialog
        open={confirming !== null}
        title="Cancel this historical request?"
        onClose={() => setConfirming(null)}
        footer={
          <>
            <Button onClick={() => setConfirming(null)}>Keep request</Button>
            <Button variant="danger" busy={cancel.isPending} onClick={() => confirming && cancel.mutate(confirming.id)}>
              Cancel request
            </Button>
          </>
        }
      >
        {confirming ? (
          <p>
            The months of {daysLabel(confirming.range_start, confirming.range_end)} not yet delivered are not exported; a month being
            delivered now is stopped and nothing of it is left half-delivered. Months already delivered stay where they are. This cannot be
            undone: request the range again to export it.
          </p>
        ) : null}
        {cancel.isError ? (
          <div className="mt-3">
            <ErrorNotice title="The request was not cancelled" error={cancel.error} />
          </div>
        ) : null}
      </Dialog>
    </div>
  );
}
