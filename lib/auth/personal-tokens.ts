// Personal access tokens: created by a signed-in account (or the CLI for an account), acting with
// that account's access — its programs, its role capping the token's scopes (lib/auth/permissions).
// The token is shown once and stored as its SHA-256; revoking takes effect at once in this process.
import type { Database, Db } from '@/db/client';
import {
  listPersonalTokens as listPersonalTokenRows,
  revokePersonalToken as revokePersonalTokenRow,
  type PersonalTokenListing,
} from '@/db/queries/api-clients';
import { recordAudit } from '@/db/queries/audit';
import type { ApiToken, Role, Scope } from '@/db/schema/auth';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import type { PersonalTokenView } from './api-access-schemas';
import type { ChangeAuthor } from './api-clients';
import { grantableScopes, ROLE_LABELS } from './permissions';
import { forgetCachedTokens } from './token-cache';
import { createApiToken, knownScopes } from './tokens';

const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A token as the API shows it: never the token or its hash. */
export function viewPersonalToken(t: ApiToken, at: Date = now()): PersonalTokenView {
  return {
    id: t.id,
    name: t.name,
    token_prefix: t.tokenPrefix,
    scopes: knownScopes(t.scopes),
    status: t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt <= at ? 'expired' : 'active',
    created_at: t.createdAt.toISOString(),
    expires_at: iso(t.expiresAt),
    last_used_at: iso(t.lastUsedAt),
    revoked_at: iso(t.revokedAt),
  };
}

/**
 * Creates a personal token for `accountId`, whose role is `role`; returns the token (shown once) with
 * its row. Any account may create its own tokens; their scopes stay within what its role may do
 * (`grantableScopes`), or nothing is created and the answer names the scope that is too broad.
 */
export async function createPersonalToken(
  database: Database,
  params: { accountId: string; role: Role; name: string; scopes: Scope[]; expiresInDays: number | null; author: ChangeAuthor },
): Promise<{ token: string; row: ApiToken }> {
  const scopes = [...new Set(params.scopes)];
  const allowed = grantableScopes(params.role);
  const tooBroad = scopes.find((s) => !allowed.includes(s));
  if (tooBroad) {
    const index = params.scopes.indexOf(tooBroad);
    throw new AppError(
      'forbidden',
      `Scopes: “${tooBroad}” is more than a ${ROLE_LABELS[params.role]} may do; their personal tokens can have ${allowed.join(', ')}.`,
      { fields: [{ path: `scopes.${index}`, message: `must be one of ${allowed.join(', ')}` }] },
    );
  }
  const expiresAt = params.expiresInDays === null ? null : new Date(now().getTime() + params.expiresInDays * DAY_MS);
  return database.db.transaction(async (tx) => {
    const created = await createApiToken(tx, { kind: 'personal', accountId: params.accountId, name: params.name, scopes, expiresAt });
    const inserted = created.row;
    await recordAudit(tx, {
      programId: null,
      actorId: params.author.accountId,
      actorLabel: params.author.label,
      action: 'api_token.created',
      targetType: 'api_token',
      targetId: inserted.id,
      after: { name: inserted.name, token_prefix: inserted.tokenPrefix, scopes, expires_at: iso(expiresAt), account_id: params.accountId },
    });
    return created;
  });
}

export async function listPersonalTokens(db: Db, params: { accountId: string | 'all' }): Promise<PersonalTokenListing[]> {
  return listPersonalTokenRows(db, params);
}

/** Revokes one personal token of the account ('all' for the CLI). 404 when it has no such active token. */
export async function revokePersonalToken(
  database: Database,
  params: { accountId: string | 'all'; id: string; author: ChangeAuthor },
): Promise<ApiToken> {
  if (!UUID.test(params.id)) throw new AppError('not_found', `API token ${params.id.slice(0, 80)} was not found, or is already revoked.`);
  const row = await database.db.transaction(async (tx) => {
    const revoked = await revokePersonalTokenRow(tx, { accountId: params.accountId, id: params.id, at: now() });
    if (!revoked) return undefined;
    await recordAudit(tx, {
      programId: null,
      actorId: params.author.accountId,
      actorLabel: params.author.label,
      action: 'api_token.revoked',
      targetType: 'api_token',
      targetId: revoked.id,
      before: { name: revoked.name, token_prefix: revoked.tokenPrefix, account_id: revoked.accountId },
    });
    return revoked;
  });
  if (!row) throw new AppError('not_found', `API token ${params.id} was not found, or is already revoked.`);
  forgetCachedTokens({ tokenId: row.id });
  return row;
}
