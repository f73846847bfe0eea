// A connection: its name as the page's title, a health strip, schedule, windows, actions and its
// Event History, Folders and Historical Data.
import type { Metadata } from 'next';
import { cache } from 'react';
import { ConnectionDetail } from '@/components/connections/connection-detail';
import { connectionDisplayName } from '@/lib/describe-connection';
import { SubPage } from '@/components/shell/page-guard';
import { getDb } from '@/db/client';
import { findConnection } from '@/db/queries/connections';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can } from '@/lib/auth/permissions';

type Props = { params: Promise<{ id: string }> };

/** The connection's name in the current program (once per request), or null when it has none there. */
const titleOf = cache(async (id: string): Promise<string | null> => {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  if (!current) return null;
  const c = await findConnection(getDb(), { programId: current.id, id });
  return c ? connectionDisplayName(c) : null;
});

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  return { title: (await titleOf(id)) ?? 'Connection not found' };
}

export default async function ConnectionPage({ params }: Props) {
  const { id } = await params;
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  const perms = {
    canWrite: can(actor, 'connections.write'),
    canRetry: can(actor, 'deliveries.retry'),
    canHistorical: can(actor, 'historical.write'),
    canDownload: can(actor, 'exports.download'),
  };
  const title = (await titleOf(id)) ?? 'Connection not found';
  return (
    <SubPage title={title} titleTestId="connection-name" current={current}>
      {current ? <ConnectionDetail key={`${current.id}-${id}`} program={current.id} id={id} perms={perms} /> : null}
    </SubPage>
  );
}
