// API clients: server-to-server credentials of one program. The client id is public; the secret is
// shown once at creation and stored only as its SHA-256 (a 256-bit random secret needs no slow
// hash: there is nothing to guess). The client-credentials grant trades id + secret for a bearer
// token that acts for the client's program with the scopes asked for, for CLIENT_TOKEN_TTL_SECONDS.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Db } from '@/db/client';
import {
  deleteExpiredClientTokens,
  findApiClient,
  findApiClientByClientId,
  insertApiClient,
  listApiClients as listApiClientRows,
  revokeApiClient as revokeApiClientRows,
  touchApiClientLastUsed,
} from '@/db/queries/api-clients';
import { recordAudit } from '@/db/queries/audit';
import { findExistingProgramIds } from '@/db/queries/auth';
import { clientConnectionIds, insertClientConnections, listApiConnections, type FeedConnection } from '@/db/queries/feeds';
import { SCOPES, type ApiClient, type Scope } from '@/db/schema/auth';
import { now } from '@/lib/clock';
import { AppError } from '@/lib/http/errors';
import { CLIENT_SCOPE_MESSAGE, CLIENT_SCOPES, type ApiClientView, type OAuthErrorCode } from './api-access-schemas';
import { hasScope } from './permissions';
import { forgetCachedTokens } from './token-cache';
import { createApiToken, hashToken, knownScopes } from './tokens';

export const CLIENT_ID_PREFIX = 'ddec_';
export const CLIENT_SECRET_PREFIX = 'ddecs_';
/** Lifetime of a token issued by the client-credentials grant. */
export const CLIENT_TOKEN_TTL_SECONDS = 3600;
/** Expired client tokens are deleted this long after expiry, when the client next asks for one. */
const EXPIRED_TOKEN_GRACE_MS = 86_400_000;

/** Who made a change, as the Activity Log records it. */
export type ChangeAuthor = { accountId: string | null; label: string };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A client and the API connections it reads. */
export type ApiClientWithFeeds = ApiClient & { connectionIds: string[] };

/** A client as the API shows it: never the secret or its hash. */
export function viewApiClient(c: ApiClientWithFeeds): ApiClientView {
  return {
    id: c.id,
    client_id: c.clientId,
    name: c.name,
    program_id: c.programId,
    connection_ids: c.connectionIds,
    scopes: knownScopes(c.scopes),
    status: c.revokedAt ? 'revoked' : 'active',
    created_at: c.createdAt.toISOString(),
    last_used_at: iso(c.lastUsedAt),
    revoked_at: iso(c.revokedAt),
  };
}

function connectionChoices(feeds: FeedConnection[]): string {
  return feeds.map((f) => (f.name ? `${f.id} ("${f.name}", ${f.frequency})` : `${f.id} (${f.frequency})`)).join(', ');
}

/**
 * The API connections a new client of a program reads: the ones asked for (each must be an API
 * connection of the program), else the program's only API connection. 422 naming the choices when
 * the program has several and none was named; when it has none, 422 too unless `allowNone`.
 */
export async function chooseClientConnections(
  db: Db,
  params: { programId: number; connectionIds?: string[]; allowNone?: boolean },
): Promise<string[]> {
  const feeds = await listApiConnections(db, params.programId);
  const fail = (message: string) =>
    new AppError('validation_failed', `Invalid connection_ids: ${message}`, {
      fields: [{ path: 'connection_ids', message }],
      connections: feeds.map((f) => ({ id: f.id, name: f.name, frequency: f.frequency })),
    });
  if (params.connectionIds && params.connectionIds.length > 0) {
    const wanted = [...new Set(params.connectionIds.map((id) => id.toLowerCase()))];
    const unknown = wanted.filter((id) => !feeds.some((f) => f.id === id));
    if (unknown.length > 0) {
      const choices = feeds.length ? `the program's API connections are ${connectionChoices(feeds)}` : 'the program has no API connection';
      throw fail(
        `${unknown.join(', ')} ${unknown.length === 1 ? 'is not an API connection' : 'are not API connections'} of program ${params.programId}; ${choices}`,
      );
    }
    return wanted;
  }
  if (feeds.length === 1) return [feeds[0].id];
  if (feeds.length === 0) {
    if (params.allowNone) return [];
    throw fail(`program ${params.programId} has no API connection: create one first`);
  }
  throw fail(
    `program ${params.programId} has ${feeds.length} API connections; name the one(s) the client reads: ${connectionChoices(feeds)}`,
  );
}

/**
 * Creates a client for a program, reading the API connections chooseClientConnections picks;
 * returns it with its secret (shown once). 404 for an unknown program.
 */
export async function createApiClient(
  database: Database,
  params: { programId: number; name: string; scopes: Scope[]; connectionIds?: string[]; allowNoConnection?: boolean; author: ChangeAuthor },
): Promise<{ client: ApiClientWithFeeds; clientSecret: string }> {
  const { db } = database;
  const beyond = params.scopes.filter((s) => !(CLIENT_SCOPES as readonly string[]).includes(s));
  if (beyond.length > 0) {
    const message = `${beyond.join(', ')}: ${CLIENT_SCOPE_MESSAGE}`;
    throw new AppError('validation_failed', `Invalid scopes: ${message}`, { fields: [{ path: 'scopes', message }] });
  }
  if ((await findExistingProgramIds(db, [params.programId])).length === 0) {
    throw new AppError('not_found', `Program ${params.programId} was not found.`);
  }
  const connectionIds = await chooseClientConnections(db, {
    programId: params.programId,
    connectionIds: params.connectionIds,
    allowNone: params.allowNoConnection ?? true,
  });
  const clientSecret = CLIENT_SECRET_PREFIX + randomBytes(32).toString('base64url');
  const scopes = [...new Set(params.scopes)];
  const client = await db.transaction(async (tx) => {
    const row = await insertApiClient(tx, {
      programId: params.programId,
      name: params.name,
      clientId: CLIENT_ID_PREFIX + randomBytes(12).toString('hex'),
      secretHash: hashToken(clientSecret),
      scopes,
      createdBy: params.author.accountId,
    });
    await insertClientConnections(tx, { clientId: row.id, connectionIds });
    await recordAudit(tx, {
      programId: params.programId,
      actorId: params.author.accountId,
      actorLabel: params.author.label,
      action: 'api_client.created',
      targetType: 'api_client',
      targetId: row.id,
      after: { name: row.name, client_id: row.clientId, scopes, connection_ids: connectionIds },
    });
    return row;
  });
  return { client: { ...client, connectionIds }, clientSecret };
}

/** Clients with the API connections each reads. */
export async function withFeeds(db: Db, clients: ApiClient[]): Promise<ApiClientWithFeeds[]> {
  const ids = await clientConnectionIds(
    db,
    clients.map((c) => c.id),
  );
  return clients.map((c) => ({ ...c, connectionIds: ids.get(c.id) ?? [] }));
}

export async function listApiClients(db: Db, params: { programId: number | 'all' }): Promise<ApiClientWithFeeds[]> {
  return withFeeds(db, await listApiClientRows(db, params));
}

/**
 * Revokes a client (by row id or client id) and every token issued to it; they stop working at
 * once in this process and within the token cache's bound elsewhere. 404 when the program has no
 * such active client.
 */
export async function revokeApiClient(
  database: Database,
  params: { programId: number; idOrClientId: string; author: ChangeAuthor },
): Promise<ApiClientWithFeeds> {
  const { db } = database;
  const found = await findApiClient(db, { programId: params.programId, idOrClientId: params.idOrClientId });
  if (!found) throw new AppError('not_found', `API client ${params.idOrClientId} was not found.`);
  if (found.revokedAt) return (await withFeeds(db, [found]))[0];
  const revoked = await db.transaction(async (tx) => {
    const row = await revokeApiClientRows(tx, { programId: params.programId, id: found.id, at: now() });
    if (!row) return found;
    await recordAudit(tx, {
      programId: params.programId,
      actorId: params.author.accountId,
      actorLabel: params.author.label,
      action: 'api_client.revoked',
      targetType: 'api_client',
      targetId: row.id,
      before: { name: row.name, client_id: row.clientId },
    });
    return row;
  });
  forgetCachedTokens({ apiClientId: found.id });
  return (await withFeeds(db, [revoked]))[0];
}

/** An RFC 6749 error of the token endpoint (§5.2), with its HTTP status. */
export class OAuthError extends Error {
  constructor(
    public readonly error: OAuthErrorCode,
    public readonly description: string,
    public readonly status: 400 | 401 | 429 = 400,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** The scopes a token request asks for: the space-separated `scope` parameter, or all the client holds. */
function grantedScopes(client: ApiClient, requested: string | undefined): Scope[] {
  const held = knownScopes(client.scopes);
  const asked = (requested ?? '').split(' ').filter(Boolean);
  if (asked.length === 0) return held;
  const unknown = asked.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length)
    throw new OAuthError('invalid_scope', `Unknown scope "${unknown[0].slice(0, 60)}"; the scopes are ${SCOPES.join(' and ')}.`);
  const notHeld = (asked as Scope[]).filter((s) => !hasScope(held, s));
  if (notHeld.length) throw new OAuthError('invalid_scope', `This client does not hold the ${notHeld[0]} scope.`);
  return [...new Set(asked as Scope[])];
}

/**
 * The client-credentials grant: checks the client's id and secret and issues a bearer token for its
 * program. Throws OAuthError invalid_client (401) for an unknown, revoked or wrong credential,
 * without saying which.
 */
export async function exchangeClientCredentials(
  db: Db,
  params: {
    clientId: string;
    clientSecret: string;
    scope?: string;
    /** Runs once the client is authenticated, before a token is made (the client's own request budget). */
    beforeIssue?: (client: ApiClient) => Promise<void>;
  },
): Promise<{ accessToken: string; expiresIn: number; scopes: Scope[]; client: ApiClient }> {
  const client = params.clientId.length <= 200 ? await findApiClientByClientId(db, { clientId: params.clientId }) : undefined;
  // Hash even when the client is unknown, so timing does not tell which part was wrong.
  const ok = secretMatches(params.clientSecret, client?.secretHash ?? '00');
  if (!client || client.revokedAt || !ok)
    throw new OAuthError('invalid_client', 'Client authentication failed: unknown client, wrong secret, or revoked client.', 401);
  const scopes = grantedScopes(client, params.scope);
  await params.beforeIssue?.(client);
  const at = now();
  await deleteExpiredClientTokens(db, {
    programId: client.programId,
    apiClientId: client.id,
    before: new Date(at.getTime() - EXPIRED_TOKEN_GRACE_MS),
  });
  const { token } = await createApiToken(db, {
    kind: 'client',
    apiClientId: client.id,
    programId: client.programId,
    scopes,
    name: null,
    expiresAt: new Date(at.getTime() + CLIENT_TOKEN_TTL_SECONDS * 1000),
  });
  await touchApiClientLastUsed(db, { programId: client.programId, id: client.id, at });
  return { accessToken: token, expiresIn: CLIENT_TOKEN_TTL_SECONDS, scopes, client };
}
