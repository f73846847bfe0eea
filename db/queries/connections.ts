// Recurring data connections. Every query names the program (a row of another program is not found).
import { connections, type Connection } from '@/db/schema';
import type { DbOrTx } from './auth';

export type NewConnection = typeof connections.$inferInsert & { programId: number };

export async function insertConnection(db: DbOrTx, values: NewConnection): Promise<Connection> {
  const [row] = await db.insert(connections).values(values).returning();
  return row;
}
