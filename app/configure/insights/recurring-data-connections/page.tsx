// Configure › Insights › Recurring Data Connections: the connections of the chosen program.
import type { Metadata } from 'next';
import { EmptyState } from '@/components/ui/empty-state';
import { FREQUENCY_LABELS, formatDate, STATUS_STYLES } from '@/components/ui/format';
import { ConnectionsIcon, ProgramIcon } from '@/components/ui/icons';
import { PageHeader } from '@/components/ui/page-header';
import { getDb } from '@/db/client';
import { listConnections } from '@/db/queries/connections';
import type { Connection } from '@/db/schema';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'Recurring Data Connections' };

function destination(c: Connection): string {
  if (c.kind === 'api') return 'Export API';
  return `SFTP · ${c.sftpHost ?? ''}${c.sftpFolder ? ` · ${c.sftpFolder}` : ''}`;
}

function StatusPill({ status }: { status: Connection['status'] }) {
  const s = STATUS_STYLES[status];
  return <span className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${s.className}`}>{s.label}</span>;
}

export default async function RecurringDataConnectionsPage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  const writable = can(actor, 'connections.write');

  const header = (
    <PageHeader
      breadcrumb={['Configure', 'Insights']}
      title="Recurring Data Connections"
      description="Scheduled exports of users, campaigns and activity events, delivered to an SFTP server or collected through the export API."
    />
  );

  if (!current) {
    return (
      <>
        {header}
        <div className="mt-8">
          <EmptyState icon={<ProgramIcon />} title="No programs yet">
            {actor.programs === 'all'
              ? 'There are no programs in this installation yet. Programs arrive with the platform’s engagement data.'
              : 'Your account does not belong to any program yet. Ask a Firstup Super Admin to add you to your program.'}
          </EmptyState>
        </div>
      </>
    );
  }

  const connections = await listConnections(getDb(), { programId: current.id });

  return (
    <>
      {header}
      <div className="mt-8">
        {connections.length === 0 ? (
          <EmptyState icon={<ConnectionsIcon />} title="No connections yet">
            <p>
              A connection exports <span className="font-medium text-slate-800">{current.name}</span>’s engagement data on a schedule (every 4 hours,
              daily, weekly or monthly) as checksummed files.
            </p>
            <p className="mt-2">
              {writable
                ? 'Connections set up for this program appear here with their schedule, status and latest delivery.'
                : 'When a Firstup Super Admin sets one up for this program, it appears here with its schedule, status and latest delivery. Your role can view connections and download their files.'}
            </p>
          </EmptyState>
        ) : (
          <section aria-labelledby="connections-heading" className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-xs">
            <h2 id="connections-heading" className="sr-only">
              Connections of {current.name}
            </h2>
            <table className="hidden w-full text-left text-sm sm:table">
              <thead className="bg-slate-50 text-xs font-medium tracking-wide text-slate-500 uppercase">
                <tr>
                  <th scope="col" className="px-5 py-3">Connection</th>
                  <th scope="col" className="px-5 py-3">Frequency</th>
                  <th scope="col" className="px-5 py-3">Starts</th>
                  <th scope="col" className="px-5 py-3">Status</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {connections.map((c) => (
                  <tr key={c.id} className="hover:bg-slate-50/60">
                    <td className="px-5 py-3.5">
                      <p className="font-medium text-slate-900">{c.name ?? (c.kind === 'api' ? 'API connection' : 'SFTP connection')}</p>
                      <p className="text-xs text-slate-500">{destination(c)}</p>
                    </td>
                    <td className="px-5 py-3.5 text-slate-700">{FREQUENCY_LABELS[c.frequency]}</td>
                    <td className="px-5 py-3.5 text-slate-700">{formatDate(c.startDate)}</td>
                    <td className="px-5 py-3.5">
                      <StatusPill status={c.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <ul className="divide-y divide-slate-100 sm:hidden">
              {connections.map((c) => (
                <li key={c.id} className="px-4 py-3.5">
                  <div className="flex items-start justify-between gap-3">
                    <p className="font-medium text-slate-900">{c.name ?? (c.kind === 'api' ? 'API connection' : 'SFTP connection')}</p>
                    <StatusPill status={c.status} />
                  </div>
                  <p className="mt-0.5 text-xs text-slate-500">
                    {destination(c)} · {FREQUENCY_LABELS[c.frequency]} · from {formatDate(c.startDate)}
                  </p>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </>
  );
}
