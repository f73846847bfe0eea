// API clients (per program) and the API tokens issued to them or to accounts. Client queries name
// the program; personal-token queries name the owning account. Secrets and tokens are stored only
// as hashes; nothing here ever returns them in the clear.
import { and, desc, eq, isNotNull, isNull, lt } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { accounts, apiClients, apiTokens, type ApiClient, type ApiToken, type Scope } from '@/db/schema';

export type NewApiClient = {
  programId: number;
  name: string;
  clientId: string;
  secretHash: string;
  scopes: Scope[];
  createdBy: string | null;
};

export async function insertApiClient(db: DbOrTx, values: NewApiClient): Promise<ApiClient> {
  const [row] = await db.insert(apiClients).values(values).returning();
  return row;
}

/** The clients of a program (or of every program when programId is 'all'), newest first. */
export async function listApiClients(db: DbOrTx, params: { programId: number | 'all' }): Promise<ApiClient[]> {
  return db
    .select()
    .from(apiClients)
    .where(params.programId === 'all' ? undefined : eq(apiClients.programId, params.programId))
    .orderBy(desc(apiClients.createdAt), desc(apiClients.id));
}

/** A client by its public client id, for the token endpoint (which learns the program from it). */
export async function findApiClientByClientId(db: DbOrTx, params: { clientId: string }): Promise<ApiClient | undefined> {
  const [row] = await db.select().from(apiClients).where(eq(apiClients.clientId, params.clientId)).limit(1);
  return row;
}

/** A program's client by its row id or its public client id. */
export async function findApiClient(db: DbOrTx, params: { programId: number; idOrClientId: string }): Promise<ApiClient | undefined> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(params.idOrClientId);
  const [row] = await db
    .select()
    .from(apiClients)
    .where(
      and(
        eq(apiClients.programId, params.programId),
        byId ? eq(apiClients.id, params.idOrClientId) : eq(apiClients.clientId, params.idOrClientId),
      ),
    )
    .limit(1);
  return row;
}

/** Revokes a program's client and every token issued to it; returns the client, or undefined when unknown or already revoked. */
export async function revokeApiClient(db: DbOrTx, params: { programId: number; id: string; at: Date }): Promise<ApiClient | undefined> {
  const [row] = await db
    .update(apiClients)
    .set({ revokedAt: params.at })
    .where(and(eq(apiClients.programId, params.programId), eq(apiClients.id, params.id), isNull(apiClients.revokedAt)))
    .returning();
  if (!row) return undefined;
  await db
    .update(apiTokens)
    .set({ revokedAt: params.at })
    .where(and(eq(apiTokens.apiClientId, row.id), eq(apiTokens.programId, params.programId), isNull(apiTokens.revokedAt)));
  return row;
}

export async function touchApiClientLastUsed(db: DbOrTx, params: { programId: number; id: string; at: Date }): Promise<void> {
  await db
    .update(apiClients)
    .set({ lastUsedAt: params.at })
    .where(and(eq(apiClients.programId, params.programId), eq(apiClients.id, params.id)));
}

/** Removes a client's tokens that expired before `before` (issued tokens would otherwise pile up). */
export async function deleteExpiredClientTokens(
  db: DbOrTx,
  params: { programId: number; apiClientId: string; before: Date },
): Promise<number> {
  const rows = await db
    .delete(apiTokens)
    .where(
      and(
        eq(apiTokens.programId, params.programId),
        eq(apiTokens.apiClientId, params.apiClientId),
        eq(apiTokens.kind, 'client'),
        isNotNull(apiTokens.expiresAt),
        lt(apiTokens.expiresAt, params.before),
      ),
    )
    .returning({ id: apiTokens.id });
  return rows.length;
}

export type PersonalTokenListing = ApiToken & { accountEmail: string };

/** Personal tokens of one account, or of every account when accountId is 'all' (the CLI), newest first. */
export async function listPersonalTokens(db: DbOrTx, params: { accountId: string | 'all' }): Promise<PersonalTokenListing[]> {
  const rows = await db
    .select({ token: apiTokens, accountEmail: accounts.email })
    .from(apiTokens)
    .innerJoin(accounts, eq(accounts.id, apiTokens.accountId))
    .where(and(eq(apiTokens.kind, 'personal'), params.accountId === 'all' ? undefined : eq(apiTokens.accountId, params.accountId)))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map((r) => ({ ...r.token, accountEmail: r.accountEmail }));
}

/** Revokes one personal token of an account ('all': any account, for the CLI); undefined when unknown or already revoked. */
export async function revokePersonalToken(
  db: DbOrTx,
  params: { accountId: string | 'all'; id: string; at: Date },
): Promise<ApiToken | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: params.at })
    .where(
      and(
        eq(apiTokens.kind, 'personal'),
        eq(apiTokens.id, params.id),
        params.accountId === 'all' ? undefined : eq(apiTokens.accountId, params.accountId),
        isNull(apiTokens.revokedAt),
      ),
    )
    .returning();
  return row;
}
