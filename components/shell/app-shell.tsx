// The signed-in shell for every page under /configure and /account: the actor and the program
// switcher's choice are resolved on the server; the frame renders them.
import type { ReactNode } from 'react';
import type { UserActor } from '@/lib/auth/actor';
import type { ProgramSelection } from '@/lib/auth/page';
import { ROLE_LABELS, roleCan } from '@/lib/auth/permissions';
import pkg from '@/package.json';
import { navFor } from './nav';
import { ShellFrame } from './shell-frame';

export function AppShell({ actor, selection, children }: { actor: UserActor; selection: ProgramSelection; children: ReactNode }) {
  return (
    <ShellFrame
      user={{ email: actor.email, name: actor.name, role: actor.role, roleLabel: ROLE_LABELS[actor.role] }}
      nav={navFor((permission) => roleCan(actor.role, permission))}
      programs={selection.programs}
      currentProgramId={selection.current?.id ?? null}
      version={pkg.version}
    >
      {children}
    </ShellFrame>
  );
}
