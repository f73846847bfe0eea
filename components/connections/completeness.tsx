// Completeness: what the receiver of this connection can prove it holds, window by window, newest
// first. Whole windows in an unbroken run of the sequence (delivered, signature verified, rows equal
// to the source's count) fold into one range row; a window with any gap or fault stands alone,
// highlighted, its problems named (missing sequence numbers or time, not delivered, rows that
// differ from the source, a bad signature). The same windows as the export API's reconciliation.
'use client';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { api } from '@/components/api/client';
import { num, windowShort } from '@/components/ui/formatters';
import { Button, ErrorNotice, Field, inputClass, Loading, StatusBadge } from '@/components/ui/primitives';
import { oneOf, useUrlFilters } from '@/components/ui/url-filters';
import type { CompletenessWindow, Connection, completenessResponse } from '@/lib/management/responses';
import type { z } from 'zod';

const FILTERS = { completeness_type: oneOf(['historical']) };
const IN_FLIGHT = new Set(['planned', 'generating', 'generated', 'delivering']);

/** A window that needs no attention: delivered, its signature verified (or expired with its files), nothing missing before it. */
function isWhole(w: CompletenessWindow): boolean {
  return w.delivered && w.problems.length === 0 && (w.signature_state === 'verified' || w.signature_state === 'expired');
}

type Item = { kind: 'range'; key: string; windows: CompletenessWindow[] } | { kind: 'window'; key: string; window: CompletenessWindow };

/** Consecutive whole windows of one sequence fold into a range; any other window stands alone. */
function itemsOf(windows: CompletenessWindow[]): Item[] {
  const out: Item[] = [];
  for (const w of windows) {
    const last = out[out.length - 1];
    if (isWhole(w) && last?.kind === 'range' && last.windows[last.windows.length - 1].historical_request_id === w.historical_request_id) {
      last.windows.push(w);
    } else if (isWhole(w)) {
      out.push({ kind: 'range', key: `range-${w.run_id}`, windows: [w] });
    } else {
      out.push({ kind: 'window', key: w.run_id, window: w });
    }
  }
  return out;
}

const SIGNATURE_LABEL: Record<CompletenessWindow['signature_state'], string> = {
  verified: 'Verified',
  invalid: 'Invalid',
  unsigned: 'Unsigned',
  expired: 'Files expired',
  unavailable: 'Not checked',
  pending: 'Not yet signed',
};
const SIGNATURE_TONE: Record<CompletenessWindow['signature_state'], string> = {
  verified: 'text-emerald-700',
  invalid: 'font-semibold text-red-700',
  unsigned: 'font-semibold text-red-700',
  expired: 'text-slate-500',
  unavailable: 'text-amber-800',
  pending: 'text-slate-500',
};

function seqLabel(windows: CompletenessWindow[]): string {
  // Newest first: the range runs from the last (oldest) to the first.
  const first = windows[windows.length - 1].sequence;
  const last = windows[0].sequence;
  if (first === null || last === null) return '—';
  return first === last ? `#${first}` : `#${first}–${last}`;
}

function signatureSummary(windows: CompletenessWindow[]): string {
  const verified = windows.filter((w) => w.signature_state === 'verified').length;
  const expired = windows.length - verified;
  if (expired === 0) return windows.length === 1 ? 'Verified' : `All ${windows.length} verified`;
  if (verified === 0) return 'Files expired';
  return `${verified} verified, ${expired} expired`;
}

const sum = (windows: CompletenessWindow[], pick: (w: CompletenessWindow) => number | null) =>
  windows.reduce((n, w) => n + (pick(w) ?? 0), 0);

function rowsText(rows: number | null, source: number | null): string {
  if (rows === null) return '—';
  return source === null || source === rows ? num(rows) : `${num(rows)} (source ${num(source)})`;
}

function ProblemList({ w }: { w: CompletenessWindow }) {
  if (w.problems.length === 0)
    return <span className="text-slate-500">{w.delivered ? 'None' : IN_FLIGHT.has(w.status) ? 'In progress' : '—'}</span>;
  return (
    <ul className="space-y-1" data-testid="window-problems">
      {w.problems.map((p) => (
        <li key={p.code} className="font-medium text-red-800">
          {p.message}
        </li>
      ))}
    </ul>
  );
}

function deliveredText(w: CompletenessWindow, pushes: boolean): string {
  if (w.delivered) return w.status === 'empty' ? 'Yes (no data)' : 'Yes';
  if (IN_FLIGHT.has(w.status)) return pushes ? 'Not yet' : 'Not yet published';
  return 'No';
}

export function Completeness({ program, connection }: { program: number; connection: Connection }) {
  const [filters, setFilters] = useUrlFilters(FILTERS);
  const exportType = filters.completeness_type === 'historical' ? 'historical' : 'incremental';
  const [unfolded, setUnfolded] = useState<Set<string>>(new Set());
  const pushes = connection.destination.pushes;
  const q = useInfiniteQuery({
    queryKey: ['completeness', program, connection.id, exportType],
    queryFn: ({ pageParam }) =>
      api<z.infer<typeof completenessResponse>>(`/api/v1/connections/${connection.id}/completeness`, program, {
        query: { export_type: exportType, limit: 100, cursor: pageParam },
      }),
    initialPageParam: '' as string,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: (query) => (query.state.data?.pages.some((p) => p.data.some((w) => IN_FLIGHT.has(w.status))) ? 5_000 : 30_000),
  });
  const windows = q.data?.pages.flatMap((p) => p.data) ?? [];
  const items = itemsOf(windows);
  const faulty = windows.filter((w) => w.problems.length > 0).length;
  const toggle = (key: string) =>
    setUnfolded((s) => {
      const next = new Set(s);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const windowRow = (w: CompletenessWindow, nested = false) => (
    <tr
      key={w.run_id}
      data-testid="completeness-window"
      data-sequence={w.sequence ?? ''}
      className={`border-t border-slate-100 align-top ${w.problems.length ? 'bg-red-50' : nested ? 'bg-slate-50/60' : ''}`}
    >
      <td className="py-2.5 pr-3 font-mono text-xs whitespace-nowrap">{w.sequence === null ? '—' : `#${w.sequence}`}</td>
      <td className="px-3 py-2.5 text-xs whitespace-nowrap text-slate-700">{windowShort(w.window_start, w.window_end)}</td>
      <td className="px-3 py-2.5 text-xs">
        <span className="inline-flex items-center gap-2">
          {deliveredText(w, pushes)}
          {w.delivered ? null : <StatusBadge status={w.status} />}
        </span>
      </td>
      <td className={`px-3 py-2.5 text-xs ${SIGNATURE_TONE[w.signature_state]}`} title={w.signature_key ?? undefined}>
        {SIGNATURE_LABEL[w.signature_state]}
      </td>
      <td className="px-3 py-2.5 text-right text-xs tabular-nums">{rowsText(w.rows, w.source_rows)}</td>
      <td className="py-2.5 pl-3 text-xs">
        <ProblemList w={w} />
      </td>
    </tr>
  );

  const rangeRow = (item: Extract<Item, { kind: 'range' }>) => {
    const ws = item.windows;
    const open = unfolded.has(item.key);
    const span = windowShort(ws[ws.length - 1].window_start, ws[0].window_end);
    return (
      <tr key={item.key} data-testid="completeness-range" className="border-t border-slate-100 align-top">
        <td className="py-2.5 pr-3 font-mono text-xs whitespace-nowrap">{seqLabel(ws)}</td>
        <td className="px-3 py-2.5 text-xs text-slate-700">
          <span className="whitespace-nowrap">{span}</span>
          {ws.length > 1 ? (
            <button
              type="button"
              className="ml-2 font-medium text-brand-700 hover:underline"
              aria-expanded={open}
              onClick={() => toggle(item.key)}
            >
              {open ? 'Hide' : 'Show'} {ws.length} windows
            </button>
          ) : null}
        </td>
        <td className="px-3 py-2.5 text-xs">{ws.length === 1 ? deliveredText(ws[0], pushes) : `All ${ws.length}`}</td>
        <td className="px-3 py-2.5 text-xs text-emerald-700">{signatureSummary(ws)}</td>
        <td className="px-3 py-2.5 text-right text-xs tabular-nums">
          {rowsText(
            sum(ws, (w) => w.rows),
            null,
          )}
        </td>
        <td className="py-2.5 pl-3 text-xs text-slate-500">None</td>
      </tr>
    );
  };

  const card = (w: CompletenessWindow) => (
    <li
      key={w.run_id}
      data-testid="completeness-card"
      className={`space-y-1 px-3 py-3 text-sm ${w.problems.length ? 'rounded-lg bg-red-50' : ''}`}
    >
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <span className="font-mono text-xs">{w.sequence === null ? '—' : `#${w.sequence}`}</span>
        <span className="text-xs text-slate-600">{windowShort(w.window_start, w.window_end)}</span>
      </div>
      <p className="text-xs text-slate-700">
        Delivered: {deliveredText(w, pushes)} · Signature:{' '}
        <span className={SIGNATURE_TONE[w.signature_state]}>{SIGNATURE_LABEL[w.signature_state]}</span> · Rows:{' '}
        {rowsText(w.rows, w.source_rows)}
      </p>
      {w.problems.length ? (
        <div className="text-xs">
          <ProblemList w={w} />
        </div>
      ) : null}
    </li>
  );

  const rangeCard = (item: Extract<Item, { kind: 'range' }>) => {
    const ws = item.windows;
    const open = unfolded.has(item.key);
    return (
      <Fragment key={item.key}>
        <li data-testid="completeness-range-card" className="space-y-1 px-3 py-3 text-sm">
          <div className="flex flex-wrap items-baseline justify-between gap-2">
            <span className="font-mono text-xs">{seqLabel(ws)}</span>
            <span className="text-xs text-slate-600">{windowShort(ws[ws.length - 1].window_start, ws[0].window_end)}</span>
          </div>
          <p className="text-xs text-slate-700">
            {ws.length === 1 ? 'Delivered' : `All ${ws.length} delivered`} ·{' '}
            <span className="text-emerald-700">{signatureSummary(ws)}</span> · {num(sum(ws, (w) => w.rows))} rows · no gaps
          </p>
          {ws.length > 1 ? (
            <button type="button" className="text-xs font-medium text-brand-700" aria-expanded={open} onClick={() => toggle(item.key)}>
              {open ? 'Hide' : 'Show'} {ws.length} windows
            </button>
          ) : null}
        </li>
        {open ? ws.map(card) : null}
      </Fragment>
    );
  };

  return (
    <div className="space-y-4" data-testid="completeness">
      <p className="text-sm text-slate-600">
        Every window of this connection in its sequence, newest first, as the receiving side can check it with{' '}
        <span className="font-mono">dde verify</span>: whether it was delivered, whether its manifest’s signature holds against the
        published keys, and its rows against what the source held when it was exported. An empty window has a manifest too, so no data and
        missing differ. Whole windows fold into ranges; any gap is named and highlighted.
      </p>
      <div
        className="flex flex-col gap-3 rounded-xl border border-slate-200 bg-white px-4 py-3 shadow-xs sm:flex-row sm:items-end"
        role="search"
        aria-label="Filter completeness"
      >
        <Field label="Sequence" className="sm:w-56">
          {(p) => (
            <select
              {...p}
              className={inputClass}
              value={filters.completeness_type}
              onChange={(e) => setFilters({ completeness_type: e.target.value })}
            >
              <option value="">Automated windows</option>
              <option value="historical">Historical requests</option>
            </select>
          )}
        </Field>
        {q.isSuccess ? (
          <p className="text-sm sm:pb-2" data-testid="completeness-summary">
            {windows.length === 0 ? null : faulty === 0 ? (
              <span className="text-emerald-700">
                {windows.length} window{windows.length === 1 ? '' : 's'} shown, no gaps.
              </span>
            ) : (
              <span className="font-medium text-red-800">
                {faulty} of {windows.length} window{windows.length === 1 ? '' : 's'} shown {faulty === 1 ? 'has' : 'have'} a gap or fault.
              </span>
            )}
          </p>
        ) : null}
      </div>
      <div className="rounded-xl border border-slate-200 bg-white px-4 py-4 shadow-xs sm:px-5">
        {q.isPending ? (
          <Loading label="Loading the windows…" />
        ) : q.isError ? (
          <ErrorNotice title="The completeness could not be loaded" error={q.error} onRetry={() => void q.refetch()} />
        ) : windows.length === 0 ? (
          <p className="rounded-lg bg-slate-50 px-4 py-8 text-center text-sm text-slate-600">
            No windows yet. The first one is planned when the first window closes.
          </p>
        ) : (
          <>
            <div className="hidden overflow-x-auto lg:block">
              <table className="w-full text-left text-sm" data-testid="completeness-table">
                <caption className="sr-only">Completeness</caption>
                <thead className="text-xs font-medium tracking-wide text-slate-500 uppercase">
                  <tr>
                    <th scope="col" className="py-2 pr-3">
                      Sequence
                    </th>
                    <th scope="col" className="px-3 py-2">
                      Window
                    </th>
                    <th scope="col" className="px-3 py-2">
                      Delivered
                    </th>
                    <th scope="col" className="px-3 py-2">
                      Signature
                    </th>
                    <th scope="col" className="px-3 py-2 text-right">
                      Rows
                    </th>
                    <th scope="col" className="py-2 pl-3">
                      Gaps
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((item) =>
                    item.kind === 'window' ? (
                      windowRow(item.window)
                    ) : (
                      <Fragment key={item.key}>
                        {rangeRow(item)}
                        {unfolded.has(item.key) ? item.windows.map((w) => windowRow(w, true)) : null}
                      </Fragment>
                    ),
                  )}
                </tbody>
              </table>
            </div>
            <ul className="divide-y divide-slate-100 lg:hidden">
              {items.map((item) => (item.kind === 'window' ? card(item.window) : rangeCard(item)))}
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
    </div>
  );
}
