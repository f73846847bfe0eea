// The Activity Log: who changed what, when. Written in the same transaction as the change.
import type { DbOrTx } from '@/db/client';
import { auditLog, type AuditEntry } from '@/db/schema';

export type NewAuditEntry = {
  programId: number | null;
  actorId: string | null;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
  details?: unknown;
  at?: Date;
};

export async function recordAudit(db: DbOrTx, entry: NewAuditEntry): Promise<AuditEntry> {
  const [row] = await db.insert(auditLog).values(entry).returning();
  return row;
}
