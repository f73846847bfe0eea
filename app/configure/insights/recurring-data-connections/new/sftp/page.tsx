// Set Up SFTP (Firstup Super Admins).
import type { Metadata } from 'next';
import { SubPage } from '@/components/shell/page-guard';
import { SftpSetupForm } from '@/components/connections/sftp-setup-form';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'Set Up SFTP' };

export default async function SetUpSftpPage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  return (
    <SubPage
      title="Set Up SFTP"
      current={current}
      allowed={can(actor, 'connections.write')}
      description={current ? <>Deliver {current.name}’s engagement data to your SFTP server on a schedule.</> : undefined}
    >
      {current ? <SftpSetupForm key={current.id} program={current.id} programName={current.name} /> : null}
    </SubPage>
  );
}
