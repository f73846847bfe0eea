// Event History: every run of the connection with its files and delivery attempts, the live progress
// of runs in flight, Retry on failed runs, a drawer with the error and each attempt, and the 30-day
// charts of rows, bytes and lag (stats-chart.tsx). Runs of consecutive windows with no data fold into
// one row ("16 months with no data"); ?run=<id> opens that run's details (the health strip links there).
'use client';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { api, apiUrl, type Page } from '@/components/api/client';
import type { Connection, Run } from '@/lib/management/responses';
import { bytes, dayRange, daysLabel, dt, num, windowLabel, windowShort } from '@/components/ui/formatters';
import {
  Button,
  Card,
  DefinitionList,
  Drawer,
  ErrorNotice,
  Field,
  inputClass,
  Loading,
  StatusBadge,
  humanize,
} from '@/components/ui/primitives';
import { buttonClass } from '@/components/ui/button-styles';
import { isoDay, oneOf, useUrlFilters } from '@/components/ui/url-filters';
import { RUN_STATUS_FILTER_ORDER, runStatusLabel } from '@/lib/runs/vocabulary';
import { RunProgress } from './run-progress';
import { StatsChart } from './stats-chart';

function runFileName(r: Run): string {
  const data = r.files.filter((f) => f.file_type !== 'manifest');
  if (data.length === 0) return r.status === 'empty' ? 'No new data in this window' : 'Files not generated yet';
  return data.length === 1 ? data[0].name : `${data[0].name} + ${data.length - 1} more`;
}

const TABLES: Record<string, string> = { user: 'users', campaign: 'campaigns', activity: 'activity' };

/**
 * A database connection's run in rows per table instead of bytes ("users 50 · campaigns 5 ·
 * activity 1,200"): the rows of each data file, which a delivered run loaded; an empty window 0.
 */
export function rowsByTable(r: Run, prefix: string): string {
  if (r.status === 'empty') return '0 rows';
  const per = new Map<string, number>();
  for (const f of r.files) if (f.file_type !== 'manifest') per.set(f.file_type, (per.get(f.file_type) ?? 0) + f.rows);
  if (per.size === 0) return '—';
  return ['user', 'campaign', 'activity']
    .filter((t) => per.has(t))
    .map((t) => `${prefix}${TABLES[t]} ${num(per.get(t)!)}`)
    .join(' · ');
}

function RetryButton({ program, run, connectionId }: { program: number; run: Run; connectionId: string }) {
  const qc = useQueryClient();
  const retry = useMutation({
    mutationFn: () => api(`/api/v1/runs/${run.id}/retry`, program, { method: 'POST', body: {} }),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: ['runs', program, connectionId] });
      // A retried historical month reopens its request, which the Historical Data tab then follows.
      void qc.invalidateQueries({ queryKey: ['historical', program, connectionId] });
    },
  });
  const reason = run.retry.allowed ? undefined : (run.retry.reason ?? 'Retry is not available for this run.');
  return (
    <span className="inline-flex flex-col items-start gap-1">
      <Button
        size="sm"
        onClick={() => retry.mutate()}
        busy={retry.isPending}
        disabled={!run.retry.allowed}
        title={reason}
        aria-describedby={reason ? `retry-reason-${run.id}` : undefined}
      >
        Retry
      </Button>
      {reason ? (
        <span id={`retry-reason-${run.id}`} className="max-w-48 text-[11px] leading-4 text-slate-500">
          {reason}
        </span>
      ) : null}
      {retry.isError ? <span className="text-[11px] text-red-700">{retry.error.message}</span> : null}
      {retry.isSuccess ? <span className="text-[11px] text-emerald-700">Retry queued</span> : null}
    </span>
  );
}

function RunDrawer({ run, onClose, tablePrefix }: { run: Run | null; onClose: () => void; tablePrefix: string | null }) {
  return (
    <Drawer open={run !== null} title="Run details" onClose={onClose}>
      {run ? (
        <div className="space-y-6">
          <DefinitionList
            items={[
              {
                term: 'Status',
                value: (
                  <>
                    <StatusBadge status={run.status} />
                    {run.progress ? <RunProgress progress={run.progress} label={`Progress of ${runFileName(run)}`} /> : null}
                  </>
                ),
              },
              { term: 'Type', value: run.automated ? 'Automated' : 'Historical' },
              { term: 'Window', value: windowLabel(run.window_start, run.window_end) },
              { term: 'Destination', value: run.destination ?? '—' },
              { term: 'Rows', value: num(run.rows_total) },
              tablePrefix !== null
                ? {
                    term: run.status === 'delivered' || run.status === 'empty' ? 'Rows loaded' : 'Rows to load',
                    value: rowsByTable(run, tablePrefix),
                  }
                : { term: 'Size', value: bytes(run.bytes_total) },
              { term: 'Started', value: dt(run.started_at) },
              { term: 'Finished', value: dt(run.finished_at) },
            ]}
          />
          {run.error_message ? (
            <div role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
              <p className="font-semibold">{run.error_code ? humanize(run.error_code) : 'Error'}</p>
              <p className="mt-0.5 break-words">{run.error_message}</p>
            </div>
          ) : null}
          <section>
            <h3 className="text-sm font-semibold text-slate-900">Delivery attempts</h3>
            {run.deliveries.length === 0 ? (
              <p className="mt-2 text-slate-600">No delivery attempts yet.</p>
            ) : (
              <ol className="mt-2 space-y-2">
                {run.deliveries.map((d) => (
                  <li key={d.id} className="rounded-lg border border-slate-200 px-3 py-2">
                    <div className="flex flex-wrap items-center justify-between gap-2">
                      <span className="font-medium text-slate-900">
                        Attempt {d.attempt} <span className="font-normal text-slate-500">· {humanize(d.trigger)}</span>
                      </span>
                      <StatusBadge status={d.status} />
                    </div>
                    <p className="mt-1 text-xs text-slate-600">
                      {dt(d.started_at)} → {dt(d.finished_at)} · {d.files} files · {bytes(d.bytes)}
                    </p>
                    {d.error_message ? (
                      <p className="mt-1 text-xs break-words text-red-700">
                        {d.error_code ? <span className="font-mono">{d.error_code}</span> : null} {d.error_message}
                        {d.retryable ? ' (retryable)' : ''}
                      </p>
                    ) : null}
                  </li>
                ))}
              </ol>
            )}
          </section>
          <section>
            <h3 className="text-sm font-semibold text-slate-900">Files</h3>
            {run.files.length === 0 ? (
              <p className="mt-2 text-slate-600">No files.</p>
            ) : (
              <ul className="mt-2 space-y-2">
                {run.files.map((f) => (
                  <li key={f.id} className="rounded-lg bg-slate-50 px-3 py-2 text-xs">
                    <p className="font-mono break-all text-slate-900">{f.name}</p>
                    <p className="mt-0.5 text-slate-600">
                      {num(f.rows)} rows · {bytes(f.bytes)} · {f.expired ? 'expired' : `kept until ${dt(f.expires_at)}`}
                    </p>
                    <p className="mt-0.5 font-mono break-all text-slate-500">sha256 {f.sha256}</p>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      ) : null}
    </Drawer>
  );
}

/** The filters, kept in the URL (?status=failed&from=2026-11-01); values the list does not offer are ignored. */
const FILTERS = {
  status: oneOf([...RUN_STATUS_FILTER_ORDER]),
  file_type: oneOf(['user', 'campaign', 'activity']),
  export_type: oneOf(['incremental', 'historical']),
  from: isoDay,
  to: isoDay,
  run: (v: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
};
type Filters = Record<keyof typeof FILTERS, string>;

type EmptyGroup = { kind: 'empty'; key: string; runs: Run[] };
type Item = { kind: 'run'; run: Run } | EmptyGroup;

/** Consecutive windows of one export type with no data (two or more) as one group; the rest as they are. */
export function foldEmpty(runs: Run[]): Item[] {
  const out: Item[] = [];
  let group: Run[] = [];
  const flush = () => {
    if (group.length >= 2) out.push({ kind: 'empty', key: `empty-${group[0].id}`, runs: group });
    else for (const run of group) out.push({ kind: 'run', run });
    group = [];
  };
  for (const run of runs) {
    if (run.status === 'empty' && (group.length === 0 || group[0].export_type === run.export_type)) group.push(run);
    else {
      flush();
      if (run.status === 'empty') group.push(run);
      else out.push({ kind: 'run', run });
    }
  }
  flush();
  return out;
}

const UNITS: Record<Connection['frequency'], [string, string]> = {
  every_4_hours: ['4-hour window', '4-hour windows'],
  daily: ['day', 'days'],
  weekly: ['week', 'weeks'],
  monthly: ['month', 'months'],
};

function EmptyGroupSummary({
  group,
  frequency,
  open,
  onToggle,
}: {
  group: EmptyGroup;
  frequency: Connection['frequency'];
  open: boolean;
  onToggle: () => void;
}) {
  const n = group.runs.length;
  // Historical runs are calendar months; scheduled ones are the connection's windows.
  const [one, many] = group.runs[0].export_type === 'historical' ? ['month', 'months'] : UNITS[frequency];
  const newest = group.runs[0];
  const oldest = group.runs[n - 1];
  return (
    <div className="flex flex-wrap items-center justify-between gap-2 rounded-lg bg-slate-50 px-3 py-2">
      <div className="min-w-0">
        <p className="text-sm font-medium text-slate-700">
          {n} {n === 1 ? one : many} with no data
        </p>
        <p className="text-[11px] text-slate-500">
          {daysLabel(oldest.window_start, newest.window_end)} · {newest.automated ? 'Automated' : 'Historical'}
        </p>
      </div>
      <Button size="sm" variant="ghost" onClick={onToggle} aria-expanded={open}>
        {open ? 'Fold them' : 'Show them'}
      </Button>
    </div>
  );
}

const IN_FLIGHT = new Set(['generating', 'delivering']);

export function EventHistory({ program, connection, canRetry }: { program: number; connection: Connection; canRetry: boolean }) {
  const [filters, setFilters] = useUrlFilters(FILTERS);
  const [open, setOpen] = useState<Run | null>(null);
  const [unfolded, setUnfolded] = useState<Set<string>>(() => new Set());
  const toggle = (key: string) =>
    setUnfolded((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  const { run: linkedId, ...listFilters } = filters;
  const filterQuery = {
    status: filters.status,
    file_type: filters.file_type,
    export_type: filters.export_type,
    ...dayRange(filters.from, filters.to),
  };
  const q = useInfiniteQuery({
    queryKey: ['runs', program, connection.id, listFilters],
    queryFn: ({ pageParam }) =>
      api<Page<Run>>(`/api/v1/connections/${connection.id}/runs`, program, {
        query: { ...filterQuery, limit: 25, cursor: pageParam },
      }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // Runs in flight (and their progress) are followed every 2 s; otherwise every 10 s picks up new windows.
    refetchInterval: (query) => (query.state.data?.pages.some((p) => p.data.some((r) => IN_FLIGHT.has(r.status))) ? 2_000 : 10_000),
  });
  const runs = q.data?.pages.flatMap((p) => p.data) ?? [];
  // A run linked from the health strip (?run=<id>), read on its own when the list does not hold it.
  const linked = useQuery({
    queryKey: ['run', program, linkedId],
    queryFn: () => api<{ data: Run }>(`/api/v1/runs/${linkedId}`, program),
    enabled: Boolean(linkedId) && !open,
  });
  // The drawer follows the run as the list refreshes (a run in flight moves on).
  const chosen = open ?? (linkedId ? (linked.data?.data ?? null) : null);
  const shown = chosen ? (runs.find((r) => r.id === chosen.id) ?? chosen) : null;
  const closeDrawer = () => {
    setOpen(null);
    if (linkedId) setFilters({ run: '' });
  };
  // Folded only while no status is chosen: a person filtering for "No new data" asked to see each one.
  const items: Item[] = listFilters.status ? runs.map((run) => ({ kind: 'run', run })) : foldEmpty(runs);
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setFilters({ [k]: e.target.value });
  // A database connection's runs are told in rows per table (what was loaded), not in file sizes.
  const tablePrefix =
    connection.kind === 'postgres' || connection.kind === 'mysql'
      ? String((connection.destination.settings as { table_prefix?: string } | null)?.table_prefix ?? '')
      : null;

  const rowOf = (r: Run) => (
    <tbody key={r.id} data-testid="run-row" className="border-t border-slate-100">
      <tr>
        <td className="max-w-64 min-w-48 py-2.5 pr-3">
          <button type="button" className="text-left font-mono text-xs break-all text-brand-700 hover:underline" onClick={() => setOpen(r)}>
            {runFileName(r)}
          </button>
          <p className="text-[11px] text-slate-500">{windowShort(r.window_start, r.window_end)}</p>
        </td>
        <td className="px-3 py-2.5 text-xs text-slate-700">{dt(r.started_at ?? r.created_at)}</td>
        {tablePrefix !== null ? (
          <td className="px-3 py-2.5 text-xs text-slate-700" data-testid="rows-by-table">
            {rowsByTable(r, tablePrefix)}
          </td>
        ) : (
          <td className="px-3 py-2.5 text-right text-xs whitespace-nowrap tabular-nums">{bytes(r.bytes_total)}</td>
        )}
        <td className="px-3 py-2.5 text-right text-xs tabular-nums">{num(r.rows_total)}</td>
        <td className="px-3 py-2.5">
          <StatusBadge status={r.status} />
          <p className="mt-1 text-[11px] text-slate-600">{r.automated ? 'Automated' : 'Historical'}</p>
        </td>
        <td className="max-w-48 truncate px-3 py-2.5 text-xs text-slate-600" title={r.destination ?? undefined}>
          {r.destination ?? '—'}
        </td>
        <td className="py-2.5 pl-3">
          <div className="flex items-start gap-2">
            <Button size="sm" variant="ghost" onClick={() => setOpen(r)} aria-label={`Details of ${runFileName(r)}`}>
              Details
            </Button>
            {canRetry && r.status === 'failed' ? <RetryButton program={program} run={r} connectionId={connection.id} /> : null}
          </div>
        </td>
      </tr>
      {r.progress ? (
        <tr>
          <td colSpan={7} className="pr-3 pb-3">
            <div className="max-w-md">
              <RunProgress progress={r.progress} label={`Progress of ${runFileName(r)}`} size="sm" />
            </div>
          </td>
        </tr>
      ) : null}
    </tbody>
  );
  const cardOf = (r: Run) => (
    <li key={r.id} className="py-3" data-testid="run-card">
      <div className="flex items-start justify-between gap-2">
        <button
          type="button"
          className="min-w-0 text-left font-mono text-xs break-all text-brand-700 hover:underline"
          onClick={() => setOpen(r)}
        >
          {runFileName(r)}
        </button>
        <StatusBadge status={r.status} />
      </div>
      <p className="mt-1 text-xs text-slate-600">
        {dt(r.started_at ?? r.created_at)} · {tablePrefix !== null ? rowsByTable(r, tablePrefix) : bytes(r.bytes_total)} ·{' '}
        {num(r.rows_total)} rows · {r.automated ? 'Automated' : 'Historical'}
      </p>
      {r.destination ? <p className="mt-0.5 truncate text-xs text-slate-500">{r.destination}</p> : null}
      {r.progress ? <RunProgress progress={r.progress} label={`Progress of ${runFileName(r)}`} /> : null}
      {canRetry && r.status === 'failed' ? (
        <div className="mt-2">
          <RetryButton program={program} run={r} connectionId={connection.id} />
        </div>
      ) : null}
    </li>
  );

  return (
    <div className="space-y-6">
      <StatsChart program={program} connection={connection} />
      <Card
        title="Runs"
        actions={
          <a
            href={apiUrl(`/api/v1/connections/${connection.id}/runs.csv`, program, filterQuery)}
            className={buttonClass('secondary', 'sm')}
            download
            data-testid="download-csv"
          >
            Download CSV
          </a>
        }
      >
        <div className="grid grid-cols-2 gap-3 md:grid-cols-5" role="search" aria-label="Filter runs">
          <Field label="Status">
            {(p) => (
              <select {...p} className={inputClass} value={filters.status} onChange={set('status')}>
                <option value="">Any</option>
                {RUN_STATUS_FILTER_ORDER.map((s) => (
                  <option key={s} value={s}>
                    {runStatusLabel(s)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="File type">
            {(p) => (
              <select {...p} className={inputClass} value={filters.file_type} onChange={set('file_type')}>
                <option value="">Any</option>
                <option value="user">Users</option>
                <option value="campaign">Campaigns</option>
                <option value="activity">Activities</option>
              </select>
            )}
          </Field>
          <Field label="Export type">
            {(p) => (
              <select {...p} className={inputClass} value={filters.export_type} onChange={set('export_type')}>
                <option value="">Any</option>
                <option value="incremental">Automated</option>
                <option value="historical">Historical</option>
              </select>
            )}
          </Field>
          <Field label="From">
            {(p) => <input {...p} type="date" className={inputClass} value={filters.from} onChange={set('from')} />}
          </Field>
          <Field label="To">{(p) => <input {...p} type="date" className={inputClass} value={filters.to} onChange={set('to')} />}</Field>
        </div>

        <div className="mt-4">
          {q.isPending ? (
            <Loading label="Loading runs…" />
          ) : q.isError ? (
            <ErrorNotice title="The event history could not be loaded" error={q.error} onRetry={() => void q.refetch()} />
          ) : runs.length === 0 ? (
            <p className="rounded-lg bg-slate-50 px-4 py-8 text-center text-sm text-slate-600">
              {Object.values(listFilters).some(Boolean)
                ? 'No runs match these filters.'
                : 'No runs yet. The first run starts when the first window closes.'}
            </p>
          ) : (
            <>
              <div className="hidden overflow-x-auto lg:block">
                <table className="w-full text-left text-sm" data-testid="runs-table">
                  <thead className="text-xs font-medium tracking-wide text-slate-500 uppercase">
                    <tr>
                      <th scope="col" className="py-2 pr-3">
                        File
                      </th>
                      <th scope="col" className="px-3 py-2">
                        Job start
                      </th>
                      {tablePrefix !== null ? (
                        <th scope="col" className="px-3 py-2">
                          Rows loaded
                        </th>
                      ) : (
                        <th scope="col" className="px-3 py-2 text-right">
                          Size
                        </th>
                      )}
                      <th scope="col" className="px-3 py-2 text-right">
                        Rows
                      </th>
                      <th scope="col" className="px-3 py-2">
                        Status
                      </th>
                      <th scope="col" className="px-3 py-2">
                        Destination
                      </th>
                      <th scope="col" className="py-2 pl-3">
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  {/* One body per run: its row, and under it the progress of a run in flight. */}
                  {items.map((item) =>
                    item.kind === 'run' ? (
                      rowOf(item.run)
                    ) : (
                      <Fragment key={item.key}>
                        <tbody data-testid="empty-group" className="border-t border-slate-100">
                          <tr>
                            <td colSpan={7} className="py-2.5">
                              <EmptyGroupSummary
                                group={item}
                                frequency={connection.frequency}
                                open={unfolded.has(item.key)}
                                onToggle={() => toggle(item.key)}
                              />
                            </td>
                          </tr>
                        </tbody>
                        {unfolded.has(item.key) ? item.runs.map(rowOf) : null}
                      </Fragment>
                    ),
                  )}
                </table>
              </div>
              <ul className="divide-y divide-slate-100 lg:hidden">
                {items.map((item) =>
                  item.kind === 'run' ? (
                    cardOf(item.run)
                  ) : (
                    <Fragment key={item.key}>
                      <li className="py-3" data-testid="empty-group">
                        <EmptyGroupSummary
                          group={item}
                          frequency={connection.frequency}
                          open={unfolded.has(item.key)}
                          onToggle={() => toggle(item.key)}
                        />
                      </li>
                      {unfolded.has(item.key) ? item.runs.map(cardOf) : null}
                    </Fragment>
                  ),
                )}
              </ul>
              {q.hasNextPage ? (
                <div className="mt-4 flex justify-center">
                  <Button onClick={() => void q.fetchNextPage()} busy={q.isFetchingNextPage}>
                    Load more
                  </Button>
                </div>
              ) : null}
            </>
          )}
        </div>
      </Card>
      <RunDrawer run={shown} onClose={closeDrawer} tablePrefix={tablePrefix} />
    </div>
  );
}
