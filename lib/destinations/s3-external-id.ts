// The external id of a role-assuming S3 connection: issued by DDE before the set-up (the customer
// puts it in the role's trust policy), never chosen by the admin, so that no program can make DDE
// assume another customer's role (the confused deputy). It carries a MAC under DDE's encryption key:
// an id DDE did not issue is refused; one already used by another connection is refused too
// (lib/connections/lifecycle.ts).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { env } from '@/lib/env';

const mac = (random: string, key: Buffer) => createHmac('sha256', key).update(`dde-s3-external-id:${random}`).digest('hex').slice(0, 16);

/** A fresh external id: `dde-<24 hex>-<16 hex MAC>`. */
export function issueExternalId(key: Buffer = env().encryptionKey): string {
  const random = randomBytes(12).toString('hex');
  return `dde-${random}-${mac(random, key)}`;
}

/** Whether DDE issued this external id. */
export function isIssuedExternalId(id: string, key: Buffer = env().encryptionKey): boolean {
  const m = /^dde-([0-9a-f]{24})-([0-9a-f]{16})$/.exec(id);
  if (!m) return false;
  return timingSafeEqual(Buffer.from(m[2]), Buffer.from(mac(m[1], key)));
}
