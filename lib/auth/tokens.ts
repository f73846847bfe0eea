// API tokens: opaque random strings shown once and stored only as their SHA-256. A bearer token
// resolves to an actor: client tokens act for their one program, personal tokens for their account.
import { createHash, randomBytes } from 'node:crypto';
import type { Db, DbOrTx } from '@/db/client';
import { findUsableToken, insertApiToken, listMembershipProgramIds, touchTokenLastUsed, type NewApiToken } from '@/db/queries/auth';
import { SCOPES, type ApiToken, type Scope } from '@/db/schema/auth';
import { now } from '@/lib/clock';
import { programAccessFor, type TokenActor } from './actor';

export const TOKEN_PREFIX = 'dde_';
/** last_used_at is written at most this often per token. */
export const LAST_USED_EVERY_MS = 60_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The token from an `Authorization: Bearer <token>` header; null when the header is absent or not Bearer. */
export function bearerFrom(header: string | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}

/** The scopes of a stored list that this version knows (others are ignored). */
export function knownScopes(scopes: readonly string[]): Scope[] {
  return scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
}

/**
 * The actor behind a bearer token (given its hash) and the token's expiry, or null when it is
 * unknown, revoked, expired, or its owner is gone.
 */
export async function resolveBearerToken(db: Db, tokenHash: string): Promise<{ actor: TokenActor; expiresAt: Date | null } | null> {
  const at = now();
  const found = await findUsableToken(db, { tokenHash, at });
  if (!found) return null;
  const { token: row, account, client } = found;
  let actor: TokenActor;
  if (row.kind === 'client') {
    const programId = row.programId ?? client?.programId;
    if (!client || client.revokedAt || programId == null) return null;
    actor = {
      kind: 'token',
      tokenId: row.id,
      tokenKind: 'client',
      scopes: knownScopes(row.scopes),
      accountId: null,
      role: null,
      apiClientId: client.id,
      programs: [programId],
      label: `API client "${client.name}"`,
    };
  } else {
    if (!account || account.disabledAt) return null;
    const ids = account.role === 'firstup_super_admin' ? [] : await listMembershipProgramIds(db, account.id);
    actor = {
      kind: 'token',
      tokenId: row.id,
      tokenKind: 'personal',
      scopes: knownScopes(row.scopes),
      accountId: account.id,
      role: account.role,
      apiClientId: null,
      programs: programAccessFor(account, ids),
      label: `${account.email} (API token ${row.tokenPrefix}…)`,
    };
  }
  await touchTokenLastUsed(db, { tokenId: row.id, at, everyMs: LAST_USED_EVERY_MS });
  return { actor, expiresAt: row.expiresAt };
}

/**
 * Creates a token row and returns the token (shown once) with the row. Issuance screens and the
 * client-credentials endpoint build on this; tests use it directly.
 */
export async function createApiToken(
  db: DbOrTx,
  params: Omit<NewApiToken, 'tokenHash' | 'tokenPrefix'>,
): Promise<{ token: string; row: ApiToken }> {
  const token = generateToken();
  const row = await insertApiToken(db, { ...params, tokenHash: hashToken(token), tokenPrefix: token.slice(0, TOKEN_PREFIX.length + 6) });
  return { token, row };
}
