// The manifest signing keys (signing_keys): the one module that writes them. A key is added on
// first need or by `dde keys rotate`, never changed or removed, so every manifest ever signed still
// verifies against the published set. The key material is made and sealed by lib/exports/signing.ts.
import { desc, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { signingKeys, type SigningKey } from '@/db/schema';

/** Namespace of the transaction lock that keeps two processes from adding a first key at once. */
const FIRST_KEY_LOCK_NAMESPACE = 727_029;

export type NewSigningKey = { id: string; publicKey: string; privateKeyCiphertext: string };

/** Every key, newest first (the first one signs). */
export async function listSigningKeys(db: DbOrTx): Promise<SigningKey[]> {
  return db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt), desc(signingKeys.id));
}

/** add: a new key, which signs from now on; the older ones stay published. */
export async function addSigningKey(db: DbOrTx, key: NewSigningKey): Promise<SigningKey> {
  const [row] = await db.insert(signingKeys).values(key).returning();
  return row;
}

/**
 * The key that signs: the newest, or (when there is none yet) the one `make` makes, added once
 * however many processes ask at the same time.
 */
export async function currentOrFirstSigningKey(db: DbOrTx, make: () => NewSigningKey): Promise<SigningKey> {
  const [newest] = await db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt), desc(signingKeys.id)).limit(1);
  if (newest) return newest;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${FIRST_KEY_LOCK_NAMESPACE})`);
    const [found] = await tx.select().from(signingKeys).orderBy(desc(signingKeys.createdAt), desc(signingKeys.id)).limit(1);
    return found ?? addSigningKey(tx, make());
  });
}
