// The account's own settings, inside the signed-in shell.
import type { ReactNode } from 'react';
import { AppShell } from '@/components/shell/app-shell';
import { currentProgram, requirePageActor } from '@/lib/auth/page';

export default async function AccountLayout({ children }: { children: ReactNode }) {
  const actor = await requirePageActor();
  const selection = await currentProgram(actor);
  return (
    <AppShell actor={actor} selection={selection}>
      {children}
    </AppShell>
  );
}
