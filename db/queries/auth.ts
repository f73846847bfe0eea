// Accounts, program memberships, programs visible to an account, and API tokens.
import { and, asc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import {
  accounts,
  apiClients,
  apiTokens,
  programMemberships,
  programs,
  type Account,
  type ApiToken,
  type Role,
  type Scope,
} from '@/db/schema';

export type ProgramSummary = { id: number; name: string };

/** Emails are matched case-insensitively (the unique index is on lower(email)). */
export async function findAccountByEmail(db: DbOrTx, email: string): Promise<Account | undefined> {
  const [row] = await db
    .select()
    .from(accounts)
    .where(sql`lower(${accounts.email}) = lower(${email.trim()})`)
    .limit(1);
  return row;
}

export async function findAccountById(db: DbOrTx, id: string): Promise<Account | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const [row] = await db.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  return row;
}

/** The account a single sign-on subject is bound to, if any. */
export async function findAccountByOidcSubject(db: DbOrTx, subject: string): Promise<Account | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.oidcSubject, subject)).limit(1);
  return row;
}

export async function listMembershipProgramIds(db: DbOrTx, accountId: string): Promise<number[]> {
  const rows = await db
    .select({ programId: programMemberships.programId })
    .from(programMemberships)
    .where(eq(programMemberships.accountId, accountId))
    .orderBy(asc(programMemberships.programId));
  return rows.map((r) => r.programId);
}

export async function recordSignIn(db: DbOrTx, params: { accountId: string; at: Date; oidcSubject?: string }): Promise<void> {
  await db
    .update(accounts)
    .set({ lastSignInAt: params.at, ...(params.oidcSubject ? { oidcSubject: params.oidcSubject } : {}) })
    .where(eq(accounts.id, params.accountId));
}

/** Programs by id (or every program), ordered by name. */
export async function listPrograms(db: DbOrTx, params: { ids: 'all' | readonly number[] }): Promise<ProgramSummary[]> {
  if (params.ids !== 'all' && params.ids.length === 0) return [];
  const q = db.select({ id: programs.id, name: programs.name }).from(programs);
  const rows =
    params.ids === 'all'
      ? await q.orderBy(asc(programs.name), asc(programs.id))
      : await q.where(inArray(programs.id, [...params.ids])).orderBy(asc(programs.name), asc(programs.id));
  return rows;
}

export async function findExistingProgramIds(db: DbOrTx, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: programs.id })
    .from(programs)
    .where(inArray(programs.id, [...ids]));
  return rows.map((r) => r.id);
}

export async function countFirstupAdmins(db: DbOrTx): Promise<number> {
  const [{ n }] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(accounts)
    .where(eq(accounts.role, 'firstup_super_admin'));
  return n;
}

export type NewAccount = {
  email: string;
  name?: string | null;
  role: Role;
  passwordHash: string | null;
  mustChangePassword: boolean;
  programIds: readonly number[];
};

/** Creates an account and its program memberships in one transaction. */
export async function insertAccount(db: DbOrTx, params: NewAccount): Promise<Account> {
  return db.transaction(async (tx) => {
    const [account] = await tx
      .insert(accounts)
      .values({
        email: params.email.trim(),
        name: params.name ?? null,
        role: params.role,
        passwordHash: params.passwordHash,
        mustChangePassword: params.mustChangePassword,
      })
      .returning();
    if (params.programIds.length) {
      await tx.insert(programMemberships).values(params.programIds.map((programId) => ({ accountId: account.id, programId })));
    }
    return account;
  });
}

export type AccountListing = Account & { programIds: number[] };

export async function listAccounts(db: DbOrTx): Promise<AccountListing[]> {
  const rows = await db.select().from(accounts).orderBy(asc(accounts.email));
  const memberships = await db.select().from(programMemberships).orderBy(asc(programMemberships.programId));
  return rows.map((a) => ({ ...a, programIds: memberships.filter((m) => m.accountId === a.id).map((m) => m.programId) }));
}

export type TokenWithOwner = {
  token: ApiToken;
  account: Account | null;
  client: { id: string; name: string; programId: number; revokedAt: Date | null } | null;
};

/** A token by its hash, if it is neither revoked nor expired at `at`. */
export async function findUsableToken(db: DbOrTx, params: { tokenHash: string; at: Date }): Promise<TokenWithOwner | undefined> {
  const [row] = await db
    .select({
      token: apiTokens,
      account: accounts,
      client: { id: apiClients.id, name: apiClients.name, programId: apiClients.programId, revokedAt: apiClients.revokedAt },
    })
    .from(apiTokens)
    .leftJoin(accounts, eq(accounts.id, apiTokens.accountId))
    .leftJoin(apiClients, eq(apiClients.id, apiTokens.apiClientId))
    .where(
      and(
        eq(apiTokens.tokenHash, params.tokenHash),
        isNull(apiTokens.revokedAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, params.at)),
      ),
    )
    .limit(1);
  return row;
}

/** Records use of a token at most once per `everyMs`, so busy clients do not write on every request. */
export async function touchTokenLastUsed(db: DbOrTx, params: { tokenId: string; at: Date; everyMs: number }): Promise<void> {
  const before = new Date(params.at.getTime() - params.everyMs);
  await db
    .update(apiTokens)
    .set({ lastUsedAt: params.at })
    .where(and(eq(apiTokens.id, params.tokenId), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, before))));
}

export type NewApiToken = {
  kind: 'client' | 'personal';
  tokenHash: string;
  tokenPrefix: string;
  scopes: Scope[];
  accountId?: string | null;
  apiClientId?: string | null;
  programId?: number | null;
  name?: string | null;
  expiresAt?: Date | null;
};

export async function insertApiToken(db: DbOrTx, params: NewApiToken): Promise<ApiToken> {
  const [row] = await db.insert(apiTokens).values(params).returning();
  return row;
}

/**
 * Sets a new password hash; `mustChange` marks a one-time password the owner must replace (it
 * expires DDE_ONE_TIME_PASSWORD_TTL_HOURS after `at`). Either way the account's other sessions end
 * (its session version moves on) and its personal API tokens are revoked, in one transaction.
 */
export async function updateAccountPassword(
  db: DbOrTx,
  params: { accountId: string; passwordHash: string; mustChange: boolean; at?: Date },
): Promise<{ sessionVersion: number; revokedTokens: number }> {
  const at = params.at ?? new Date();
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(accounts)
      .set({
        passwordHash: params.passwordHash,
        mustChangePassword: params.mustChange,
        passwordChangedAt: at,
        sessionVersion: sql`${accounts.sessionVersion} + 1`,
      })
      .where(eq(accounts.id, params.accountId))
      .returning({ sessionVersion: accounts.sessionVersion });
    const revoked = await tx
      .update(apiTokens)
      .set({ revokedAt: at })
      .where(and(eq(apiTokens.accountId, params.accountId), eq(apiTokens.kind, 'personal'), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    return { sessionVersion: row?.sessionVersion ?? 0, revokedTokens: revoked.length };
  });
}

/** The enabled Firstup Super Admins who are members of the program, or all of them when none is: their emails. */
export async function listProgramSuperAdminEmails(db: DbOrTx, programId: number): Promise<string[]> {
  const all = await db
    .select({ id: accounts.id, email: accounts.email })
    .from(accounts)
    .where(and(eq(accounts.role, 'firstup_super_admin'), isNull(accounts.disabledAt)));
  if (all.length === 0) return [];
  const members = await db
    .select({ accountId: programMemberships.accountId })
    .from(programMemberships)
    .where(
      and(
        eq(programMemberships.programId, programId),
        inArray(
          programMemberships.accountId,
          all.map((a) => a.id),
        ),
      ),
    );
  const ids = new Set(members.map((m) => m.accountId));
  return (ids.size ? all.filter((a) => ids.has(a.id)) : all).map((a) => a.email);
}

/** The program, or undefined. */
export async function findProgram(db: DbOrTx, id: number): Promise<typeof programs.$inferSelect | undefined> {
  const [program] = await db.select().from(programs).where(eq(programs.id, id)).limit(1);
  return program;
}

/** Namespace of the lock that lets one of several processes starting at once create the first admin. */
const INITIAL_ADMIN_LOCK = 727_002;

/** Holds the first-admin lock until the transaction ends. */
export async function lockInitialAdmin(tx: DbOrTx): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${sql.raw(String(INITIAL_ADMIN_LOCK))})`);
}
