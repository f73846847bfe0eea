// Loaded tables (a database connection's Overview): per table of the customer's database, the rows
// of every window loaded, the newest load's window, rows and time — read from the customer's own
// `_dde_loads`, the ledger committed with the rows. Read-only for every role.
'use client';
import { useQuery } from '@tanstack/react-query';
import { api } from '@/components/api/client';
import { dt, num, windowLabel } from '@/components/ui/formatters';
import { Button, Card, ErrorNotice, Loading, Notice } from '@/components/ui/primitives';
import type { Connection, LoadedTables as Answer } from '@/lib/management/responses';

export function LoadedTables({ program, connection }: { program: number; connection: Connection }) {
  const q = useQuery({
    queryKey: ['loaded-tables', program, connection.id],
    queryFn: () => api<Answer>(`/api/v1/connections/${connection.id}/loaded-tables`, program),
    // The customer's database is asked once a minute at most while the page is open.
    refetchInterval: 60_000,
  });
  return (
    <Card
      title="Loaded tables"
      actions={
        <Button size="sm" variant="ghost" onClick={() => void q.refetch()} busy={q.isFetching}>
          Refresh
        </Button>
      }
    >
      <div data-testid="loaded-tables">
        {q.isPending ? (
          <Loading label="Reading _dde_loads…" />
        ) : q.isError ? (
          <ErrorNotice title="The loaded tables could not be read" error={q.error} onRetry={() => void q.refetch()} />
        ) : q.data.error ? (
          <Notice tone="warning" title="The customer’s database could not be read">
            <p className="break-words">{q.data.error}</p>
          </Notice>
        ) : q.data.data.length === 0 ? (
          <p className="rounded-lg bg-slate-50 px-4 py-6 text-center text-sm text-slate-600">
            Nothing loaded yet: the tables fill as windows are delivered.
          </p>
        ) : (
          <>
            <div className="hidden overflow-x-auto md:block">
              <table className="w-full text-left text-sm">
                <thead className="text-xs font-medium tracking-wide text-slate-500 uppercase">
                  <tr>
                    <th scope="col" className="py-2 pr-3">
                      Table
                    </th>
                    <th scope="col" className="px-3 py-2 text-right">
                      Rows loaded
                    </th>
                    <th scope="col" className="px-3 py-2 text-right">
                      Windows
                    </th>
                    <th scope="col" className="px-3 py-2">
                      Last window loaded
                    </th>
                    <th scope="col" className="py-2 pl-3">
                      Last load
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {q.data.data.map((t) => (
                    <tr key={t.table} className="border-t border-slate-100" data-testid="loaded-table">
                      <td className="py-2.5 pr-3 font-mono text-xs text-slate-900">{t.table}</td>
                      <td className="px-3 py-2.5 text-right text-xs tabular-nums">{num(t.rows)}</td>
                      <td className="px-3 py-2.5 text-right text-xs tabular-nums">{num(t.windows)}</td>
                      <td className="px-3 py-2.5 text-xs text-slate-700">
                        {windowLabel(t.last_window.start, t.last_window.end)}
                        <span className="block text-[11px] text-slate-500">
                          {num(t.last_rows)} rows{t.last_window.export_type === 'historical' ? ' · historical' : ''}
                        </span>
                      </td>
                      <td className="py-2.5 pl-3 text-xs text-slate-700">{dt(t.last_loaded_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <ul className="divide-y divide-slate-100 md:hidden">
              {q.data.data.map((t) => (
                <li key={t.table} className="py-3 text-xs" data-testid="loaded-table-card">
                  <p className="flex justify-between gap-2">
                    <span className="font-mono text-slate-900">{t.table}</span>
                    <span className="tabular-nums">
                      {num(t.rows)} rows · {num(t.windows)} windows
                    </span>
                  </p>
                  <p className="mt-1 text-slate-600">
                    Last: {windowLabel(t.last_window.start, t.last_window.end)} · {num(t.last_rows)} rows
                  </p>
                  <p className="mt-0.5 text-slate-500">Loaded {dt(t.last_loaded_at)}</p>
                </li>
              ))}
            </ul>
            <p className="mt-3 text-xs text-slate-500">Read from the customer’s _dde_loads at {dt(q.data.read_at)}.</p>
          </>
        )}
      </div>
    </Card>
  );
}
