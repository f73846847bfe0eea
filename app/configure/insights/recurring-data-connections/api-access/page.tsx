// API access: API clients of the program (Firstup Super Admins manage them; Brand Super Admins see
// the list read-only) and the signed-in account's own personal access tokens, within its role.
import type { Metadata } from 'next';
import { ApiAccess } from '@/components/api-access/api-access';
import { SubPage } from '@/components/shell/page-guard';
import { currentProgram, requirePageActor } from '@/lib/auth/page';
import { can, grantableScopes } from '@/lib/auth/permissions';

export const metadata: Metadata = { title: 'API access' };

export default async function ApiAccessPage() {
  const actor = await requirePageActor();
  const { current } = await currentProgram(actor);
  return (
    <SubPage
      title="API access"
      current={current}
      allowed={can(actor, 'api_access.read')}
      description={current ? <>Credentials for collecting {current.name}’s exports through the API. Secrets are shown once.</> : undefined}
    >
      {current ? (
        <ApiAccess
          key={current.id}
          program={current.id}
          canManage={can(actor, 'api_access.manage')}
          tokenScopes={grantableScopes(actor.role)}
        />
      ) : null}
    </SubPage>
  );
}
