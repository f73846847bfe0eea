// A connection: status, schedule, windows, actions and its Event History, Folders and Historical Data.
import type { Metadata } from 'next';
import { ConnectionDetail } from '@/components/connections/connection-detail';
import { SubPage } from '@/components/shell/page-guard';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'Connection' };

export default async function ConnectionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  const perms = {
    canWrite: can(actor, 'connections.write'),
    canRetry: can(actor, 'deliveries.retry'),
    canHistorical: can(actor, 'historical.write'),
    canDownload: can(actor, 'exports.download'),
  };
  return (
    <SubPage title="Connection" current={current}>
      {current ? <ConnectionDetail key={`${current.id}-${id}`} program={current.id} id={id} perms={perms} /> : null}
    </SubPage>
  );
}
