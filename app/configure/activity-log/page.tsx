// Configure › Activity Log: who changed what in the chosen program, and delivery errors, with filters.
import type { Metadata } from 'next';
import { ActivityLog } from '@/components/activity-log/activity-log';
import { EmptyState } from '@/components/ui/empty-state';
import { ProgramIcon } from '@/components/ui/icons';
import { PageHeader } from '@/components/ui/page-header';
import { currentProgram, requirePageActor } from '@/lib/auth/page';

export const metadata: Metadata = { title: 'Activity Log' };

export default async function ActivityLogPage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  return (
    <>
      <PageHeader
        breadcrumb={['Configure']}
        title="Activity Log"
        description="Every change to connections, deliveries and API access in this program: who made it and when, and every delivery error."
      />
      <div className="mt-8">
        {current ? (
          <ActivityLog key={current.id} program={current.id} programName={current.name} />
        ) : (
          <EmptyState icon={<ProgramIcon />} title="No programs yet">
            Your account does not belong to any program yet.
          </EmptyState>
        )}
      </div>
    </>
  );
}
