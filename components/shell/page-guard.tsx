// Server-side frame of the connection sub-pages: the header, and what to show without a program or permission.
import type { ReactNode } from 'react';
import { EmptyState } from '@/components/ui/empty-state';
import { ProgramIcon, ShieldIcon } from '@/components/ui/icons';
import { PageHeader } from '@/components/ui/page-header';
import type { ProgramSummary } from '@/db/queries/auth';

export function SubPage({
  title,
  description,
  breadcrumb = ['Configure', 'Insights', 'Recurring Data Connections'],
  current,
  allowed = true,
  titleTestId,
  children,
}: {
  title: string;
  titleTestId?: string;
  description?: ReactNode;
  breadcrumb?: string[];
  current: ProgramSummary | null;
  allowed?: boolean;
  children: ReactNode;
}) {
  return (
    <>
      <PageHeader breadcrumb={breadcrumb} title={title} description={description} titleTestId={titleTestId} />
      <div className="mt-8">
        {!current ? (
          <EmptyState icon={<ProgramIcon />} title="No programs yet">
            Your account does not belong to any program yet.
          </EmptyState>
        ) : !allowed ? (
          <EmptyState icon={<ShieldIcon />} title="Your role can view, not change">
            Only Firstup Super Admins can do this. Ask one if something here needs to change.
          </EmptyState>
        ) : (
          children
        )}
      </div>
    </>
  );
}
