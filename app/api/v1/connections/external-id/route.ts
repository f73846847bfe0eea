// POST /api/v1/connections/external-id – a fresh external id for a role-assuming S3 connection, with the
// trust policy naming it (the customer pastes it into the role; set-up then sends the id back)
import { withAuth } from '@/lib/auth/with-auth';
import { issueExternalId } from '@/lib/destinations/s3-external-id';
import { s3TrustPolicy } from '@/lib/destinations/s3-settings';
import { env } from '@/lib/env';
import type { ExternalId } from '@/lib/management/responses';

export const POST = withAuth(
  // Nothing is stored (the id carries DDE's MAC): no program is needed; one named is still checked.
  async () => {
    const externalId = issueExternalId();
    const principal = env().awsPrincipalArn ?? null;
    const answer: ExternalId = { external_id: externalId, principal_arn: principal, trust_policy: s3TrustPolicy(principal, externalId) };
    return Response.json({ data: answer });
  },
  { permission: 'connections.write', scope: 'data_exports.manage', program: 'optional' },
);
