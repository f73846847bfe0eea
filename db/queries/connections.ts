// Recurring data connections. Every query names the program (a row of another program is not found).
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Db, DbOrTx } from '@/db/client';
import { connections, type Connection } from '@/db/schema';

export type NewConnection = typeof connections.$inferInsert & { programId: number };

export async function insertConnection(db: DbOrTx, values: NewConnection): Promise<Connection> {
  const [row] = await db.insert(connections).values(values).returning();
  return row;
}

export async function findConnection(db: DbOrTx, p: { programId: number; id: string; includeDeleted?: boolean }): Promise<Connection | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(p.id)) return undefined;
  const [row] = await db
    .select()
    .from(connections)
    .where(and(eq(connections.programId, p.programId), eq(connections.id, p.id), p.includeDeleted ? undefined : isNull(connections.deletedAt)));
  return row;
}

export async function listConnections(db: Db, p: { programId: number }): Promise<Connection[]> {
  return db
    .select()
    .from(connections)
    .where(and(eq(connections.programId, p.programId), isNull(connections.deletedAt)))
    .orderBy(asc(connections.createdAt));
}
