// Set Up Cloud Storage (Firstup Super Admins): Amazon S3, S3-compatible, Google Cloud Storage, Azure Blob.
import type { Metadata } from 'next';
import { CloudStorageSetupForm } from '@/components/connections/cloud-storage-setup-form';
import { SubPage } from '@/components/shell/page-guard';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'Set Up Cloud Storage' };

export default async function SetUpCloudStoragePage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  return (
    <SubPage
      title="Set Up Cloud Storage"
      current={current}
      allowed={can(actor, 'connections.write')}
      description={
        current ? (
          <>Deliver {current.name}’s engagement data into your S3 bucket or Azure Blob container on a schedule, laid out for a data lake.</>
        ) : undefined
      }
    >
      {current ? <CloudStorageSetupForm key={current.id} program={current.id} programName={current.name} /> : null}
    </SubPage>
  );
}
