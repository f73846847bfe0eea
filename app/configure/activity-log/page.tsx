// Configure › Activity Log: who changed what in the chosen program, newest first.
import type { Metadata } from 'next';
import { EmptyState } from '@/components/ui/empty-state';
import { formatDateTime } from '@/components/ui/format';
import { ActivityIcon, ProgramIcon } from '@/components/ui/icons';
import { PageHeader } from '@/components/ui/page-header';
import { getDb } from '@/db/client';
import { listAuditEntries } from '@/db/queries/audit';
import type { AuditEntry } from '@/db/schema';
import { currentProgram, requirePageActor } from '@/lib/auth/page';

export const metadata: Metadata = { title: 'Activity Log' };

const SHOWN = 100;

/** What the entry was about, by name when the change recorded one. */
function targetName(e: AuditEntry): string | null {
  for (const side of [e.after, e.before]) {
    const name = side && typeof side === 'object' ? (side as { name?: unknown }).name : undefined;
    if (typeof name === 'string' && name) return name;
  }
  return null;
}

/** "connection.created" → "Connection created". */
function describeAction(action: string): string {
  const [target, verb] = action.split('.');
  if (!verb) return action;
  const noun = target.replace(/_/g, ' ');
  return `${noun.charAt(0).toUpperCase()}${noun.slice(1)} ${verb.replace(/_/g, ' ')}`;
}

export default async function ActivityLogPage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  const header = (
    <PageHeader
      breadcrumb={['Configure']}
      title="Activity Log"
      description="Every change to connections, deliveries and API access in this program: who made it and when."
    />
  );
  if (!current) {
    return (
      <>
        {header}
        <div className="mt-8">
          <EmptyState icon={<ProgramIcon />} title="No programs yet">
            Your account does not belong to any program yet.
          </EmptyState>
        </div>
      </>
    );
  }
  const entries = await listAuditEntries(getDb(), { programId: current.id, limit: SHOWN });
  return (
    <>
      {header}
      <div className="mt-8">
        {entries.length === 0 ? (
          <EmptyState icon={<ActivityIcon />} title="No activity yet">
            When someone creates, pauses, resumes, edits or deletes a connection in <span className="font-medium text-slate-800">{current.name}</span>,
            retries a delivery or requests historical data, it is recorded here with who did it and when.
          </EmptyState>
        ) : (
          <section aria-labelledby="activity-heading" className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-xs">
            <h2 id="activity-heading" className="sr-only">
              Recent activity in {current.name}
            </h2>
            <div aria-hidden className="hidden gap-6 bg-slate-50 px-5 py-3 text-xs font-medium tracking-wide text-slate-500 uppercase sm:flex">
              <span className="w-44 shrink-0">When</span>
              <span className="flex-1">Change</span>
              <span className="w-64 shrink-0 text-right">By</span>
            </div>
            <ol className="divide-y divide-slate-100">
              {entries.map((e) => {
                const name = targetName(e);
                return (
                  <li key={e.id} className="flex flex-col gap-1 px-4 py-3.5 sm:flex-row sm:items-center sm:gap-6 sm:px-5">
                    <time dateTime={e.at.toISOString()} className="shrink-0 text-xs text-slate-500 tabular-nums sm:w-44">
                      {formatDateTime(e.at)}
                    </time>
                    <p className="min-w-0 flex-1 text-sm text-slate-800">
                      <span className="font-medium">{describeAction(e.action)}</span>
                      {name ? <span className="text-slate-600"> · {name}</span> : e.targetId ? <span className="ml-1.5 font-mono text-xs text-slate-500">{e.targetId.slice(0, 8)}</span> : null}
                    </p>
                    <p className="truncate text-sm text-slate-600 sm:w-64 sm:shrink-0 sm:text-right">{e.actorLabel}</p>
                  </li>
                );
              })}
            </ol>
            {entries.length === SHOWN ? <p className="border-t border-slate-100 px-5 py-3 text-xs text-slate-500">Showing the latest {SHOWN} entries.</p> : null}
          </section>
        )}
      </div>
    </>
  );
}
