// Recurring data connections. Every query names the program (a row of another program is not found).
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { Db, DbOrTx } from '@/db/client';
import { connections, type Connection } from '@/db/schema';

export async function findConnection(
  db: DbOrTx,
  p: { programId: number; id: string; includeDeleted?: boolean },
): Promise<Connection | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(p.id)) return undefined;
  const [row] = await db
    .select()
    .from(connections)
    .where(
      and(eq(connections.programId, p.programId), eq(connections.id, p.id), p.includeDeleted ? undefined : isNull(connections.deletedAt)),
    );
  return row;
}

export async function listConnections(db: Db, p: { programId: number }): Promise<Connection[]> {
  return db
    .select()
    .from(connections)
    .where(and(eq(connections.programId, p.programId), isNull(connections.deletedAt)))
    .orderBy(asc(connections.createdAt));
}

/** Names of some connections of a program, deleted ones included (the Activity Log names its targets). */
export async function listConnectionNames(
  db: DbOrTx,
  p: { programId: number; ids: string[] },
): Promise<Pick<Connection, 'id' | 'name' | 'kind' | 'sftpHost'>[]> {
  const ids = p.ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (ids.length === 0) return [];
  return db
    .select({ id: connections.id, name: connections.name, kind: connections.kind, sftpHost: connections.sftpHost })
    .from(connections)
    .where(and(eq(connections.programId, p.programId), inArray(connections.id, ids)));
}
