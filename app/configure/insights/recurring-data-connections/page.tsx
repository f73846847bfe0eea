// Configure › Insights › Recurring Data Connections: the connections of the chosen program.
import type { Metadata } from 'next';
import Link from 'next/link';
import { WorkerBanner } from '@/components/ops/worker-banner';
import { workerStatus } from '@/lib/health';
import { getDatabase } from '@/db/client';
import { ConnectionsList } from '@/components/connections/connections-list';
import { CONNECTIONS_PATH } from '@/components/connections/paths';
import { buttonClass } from '@/components/ui/button-styles';
import { EmptyState } from '@/components/ui/empty-state';
import { ProgramIcon } from '@/components/ui/icons';
import { PageHeader } from '@/components/ui/page-header';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'Recurring Data Connections' };

export default async function RecurringDataConnectionsPage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  const canWrite = can(actor, 'connections.write');
  const canSeeApiAccess = can(actor, 'api_access.read');

  const header = (
    <PageHeader
      breadcrumb={['Configure', 'Insights']}
      title="Recurring Data Connections"
      description="Scheduled exports of users, campaigns and activity events, delivered to an SFTP server or cloud storage, loaded into a database, or collected through the export API."
      actions={
        current ? (
          <div className="flex flex-wrap gap-2">
            {canSeeApiAccess ? (
              <Link href={`${CONNECTIONS_PATH}/api-access`} className={buttonClass('ghost')}>
                API access
              </Link>
            ) : null}
            {canWrite ? (
              <>
                <Link href={`${CONNECTIONS_PATH}/new/api`} className={buttonClass('secondary')}>
                  Set Up API
                </Link>
                <Link href={`${CONNECTIONS_PATH}/new/database`} className={buttonClass('secondary')}>
                  Set Up Database
                </Link>
                <Link href={`${CONNECTIONS_PATH}/new/cloud-storage`} className={buttonClass('secondary')}>
                  Set Up Cloud Storage
                </Link>
                <Link href={`${CONNECTIONS_PATH}/new/sftp`} className={buttonClass('primary')}>
                  Set Up SFTP
                </Link>
              </>
            ) : null}
          </div>
        ) : undefined
      }
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

  return (
    <>
      {header}
      <WorkerBanner actor={actor} status={await workerStatus(getDatabase().sql).catch(() => null)} />
      <div className="mt-8">
        <ConnectionsList key={current.id} program={current.id} programName={current.name} canWrite={canWrite} />
      </div>
    </>
  );
}
