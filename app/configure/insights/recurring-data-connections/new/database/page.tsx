// Set Up Database (Firstup Super Admins): PostgreSQL or MySQL/MariaDB.
import type { Metadata } from 'next';
import { DatabaseSetupForm } from '@/components/connections/database-setup-form';
import { SubPage } from '@/components/shell/page-guard';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'Set Up Database' };

export default async function SetUpDatabasePage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  return (
    <SubPage
      title="Set Up Database"
      current={current}
      allowed={can(actor, 'connections.write')}
      description={
        current ? (
          <>Load {current.name}’s engagement data into your PostgreSQL or MySQL/MariaDB tables on a schedule, each window exactly once.</>
        ) : undefined
      }
    >
      {current ? <DatabaseSetupForm key={current.id} program={current.id} programName={current.name} /> : null}
    </SubPage>
  );
}
