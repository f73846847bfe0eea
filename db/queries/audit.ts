// The Activity Log: who changed what, when. Written in the same transaction as the change.
import { desc, eq } from 'drizzle-orm';
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

/** The newest entries of one program's Activity Log. */
export async function listAuditEntries(db: DbOrTx, params: { programId: number; limit: number }): Promise<AuditEntry[]> {
  return db
    .select()
    .from(auditLog)
    .where(eq(auditLog.programId, params.programId))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(params.limit);
}
