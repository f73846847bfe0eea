// The Activity Log: who changed what, when. Written in the same transaction as the change.
import { and, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
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

export type ListAuditEntriesParams = {
  programId: number;
  actions?: string[];
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
  /** The id of the last entry of the previous page (keyset on (at, id), newest first). */
  beforeId?: number;
  limit: number;
};

/** The newest entries of one program's Activity Log, optionally filtered. */
export async function listAuditEntries(db: DbOrTx, params: ListAuditEntriesParams): Promise<AuditEntry[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.programId, params.programId),
        params.actions?.length ? inArray(auditLog.action, params.actions) : undefined,
        params.targetType ? eq(auditLog.targetType, params.targetType) : undefined,
        params.targetId ? eq(auditLog.targetId, params.targetId) : undefined,
        params.from ? gte(auditLog.at, params.from) : undefined,
        params.to ? lt(auditLog.at, params.to) : undefined,
        params.beforeId !== undefined
          ? sql`(${auditLog.at}, ${auditLog.id}) < (select a.at, a.id from audit_log a where a.id = ${params.beforeId} and a.program_id = ${params.programId})`
          : undefined,
      ),
    )
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(params.limit);
}
