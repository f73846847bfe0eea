// Set Up API (Firstup Super Admins).
import type { Metadata } from 'next';
import { ApiSetupForm } from '@/components/connections/api-setup-form';
import { SubPage } from '@/components/shell/page-guard';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'Set Up API' };

export default async function SetUpApiPage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  return (
    <SubPage
      title="Set Up API"
      current={current}
      allowed={can(actor, 'connections.write')}
      description={
        current ? (
          <>Prepare {current.name}’s engagement data on a schedule, for your systems to collect through the export API.</>
        ) : undefined
      }
    >
      {current ? <ApiSetupForm key={current.id} program={current.id} programName={current.name} /> : null}
    </SubPage>
  );
}
