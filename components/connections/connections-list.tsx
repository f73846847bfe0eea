// The program's connections: kind, destination, frequency, status, last delivery and next window.
'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { EmptyState } from '@/components/ui/empty-state';
import { ConnectionsIcon } from '@/components/ui/icons';
import { api } from '@/components/api/client';
import type { Connection } from '@/lib/management/responses';
import { CONNECTIONS_PATH } from './paths';
import { connectionName, destination, frequencyLabel } from './describe';
import { dt } from '@/components/ui/formatters';
import { ErrorNotice, Loading, StatusBadge } from '@/components/ui/primitives';
import type { Answer } from '@/lib/http/schemas';
import type { connectionListResponse } from '@/lib/management/responses';

function LastDelivery({ c }: { c: Connection }) {
  if (!c.last_delivery) return <span className="text-slate-500">None yet</span>;
  return (
    <span className="inline-flex flex-wrap items-center gap-1.5">
      <StatusBadge status={c.last_delivery.status} />
      <span className="text-xs text-slate-600">{dt(c.last_delivery.finished_at)}</span>
    </span>
  );
}

export function ConnectionsList({ program, programName, canWrite }: { program: number; programName: string; canWrite: boolean }) {
  const q = useQuery({
    queryKey: ['connections', program],
    queryFn: () => api<Answer<typeof connectionListResponse>>('/api/v1/connections', program),
    refetchInterval: 15_000,
  });

  if (q.isPending) return <Loading label="Loading connections…" />;
  if (q.isError) return <ErrorNotice title="The connections could not be loaded" error={q.error} onRetry={() => void q.refetch()} />;
  const list = q.data.data;
  if (list.length === 0)
    return (
      <EmptyState icon={<ConnectionsIcon />} title="No connections yet">
        <p>
          A connection exports <span className="font-medium text-slate-800">{programName}</span>’s engagement data on a schedule (every 4
          hours, daily, weekly or monthly) as checksummed files, to your SFTP server or through the export API.
        </p>
        <p className="mt-2">
          {canWrite
            ? 'Use “Set Up SFTP” or “Set Up API” above to create the first one.'
            : 'When a Firstup Super Admin sets one up for this program, it appears here with its schedule, status and latest delivery.'}
        </p>
      </EmptyState>
    );

  return (
    <section aria-labelledby="connections-heading" className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-xs">
      <h2 id="connections-heading" className="sr-only">
        Connections of {programName}
      </h2>
      <table className="hidden w-full text-left text-sm md:table">
        <thead className="bg-slate-50 text-xs font-medium tracking-wide text-slate-500 uppercase">
          <tr>
            <th scope="col" className="px-5 py-3">
              Connection
            </th>
            <th scope="col" className="px-5 py-3">
              Frequency
            </th>
            <th scope="col" className="px-5 py-3">
              Status
            </th>
            <th scope="col" className="px-5 py-3">
              Last delivery
            </th>
            <th scope="col" className="px-5 py-3">
              Next window
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {list.map((c) => (
            <tr key={c.id} className="hover:bg-slate-50/60" data-testid="connection-row">
              <td className="max-w-xs px-5 py-3.5">
                <Link href={`${CONNECTIONS_PATH}/${c.id}`} className="font-medium text-brand-700 hover:underline">
                  {connectionName(c)}
                </Link>
                <p className="mt-0.5 flex items-center gap-1.5 text-xs text-slate-500">
                  <span className="rounded bg-slate-100 px-1.5 py-px font-semibold text-slate-600 uppercase">{c.kind}</span>
                  <span className="truncate">{destination(c)}</span>
                </p>
              </td>
              <td className="px-5 py-3.5 text-slate-700">{frequencyLabel(c.frequency)}</td>
              <td className="px-5 py-3.5">
                <StatusBadge status={c.status} />
              </td>
              <td className="px-5 py-3.5">
                <LastDelivery c={c} />
              </td>
              <td className="px-5 py-3.5 text-xs text-slate-600">{c.next_window ? dt(c.next_window.start) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="divide-y divide-slate-100 md:hidden">
        {list.map((c) => (
          <li key={c.id} className="px-4 py-3.5" data-testid="connection-card">
            <div className="flex items-start justify-between gap-3">
              <Link href={`${CONNECTIONS_PATH}/${c.id}`} className="font-medium text-brand-700 hover:underline">
                {connectionName(c)}
              </Link>
              <StatusBadge status={c.status} />
            </div>
            <p className="mt-1 text-xs break-all text-slate-500">
              <span className="font-semibold uppercase">{c.kind}</span> · {destination(c)} · {frequencyLabel(c.frequency)}
            </p>
            <div className="mt-2 grid grid-cols-2 gap-2 text-xs">
              <div>
                <p className="text-slate-500">Last delivery</p>
                <LastDelivery c={c} />
              </div>
              <div>
                <p className="text-slate-500">Next window</p>
                <p className="text-slate-700">{c.next_window ? dt(c.next_window.start) : '—'}</p>
              </div>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
