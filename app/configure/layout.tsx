// Everything under /configure needs a signed-in account; accounts with a one-time password choose their own first.
import { redirect } from 'next/navigation';
import type { ReactNode } from 'react';
import { AppShell } from '@/components/shell/app-shell';
import { currentProgram, requirePageActor } from '@/lib/auth/page';

export default async function ConfigureLayout({ children }: { children: ReactNode }) {
  const actor = await requirePageActor();
  if (actor.mustChangePassword) redirect('/account/password');
  const selection = await currentProgram(actor);
  return (
    <AppShell actor={actor} selection={selection}>
      {children}
    </AppShell>
  );
}
