// The one gate every route handler goes through: request id, authentication (session cookie or
// bearer token), permission and scope checks, the request budget, the program the request is about,
// and the mapping of thrown errors to the one JSON error shape { error: { code, message, details? }, request_id }.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DatabaseNotConfiguredError, getDatabase, type Database, type Db } from '@/db/client';
import type { FeedConnection } from '@/db/queries/feeds';
import type { Scope } from '@/db/schema/auth';
import { resolveProgram, type Actor, type UserActor } from './actor';
import { clientFeedsOf, isApiClient } from './client-feeds';
import { requirePasswordChanged } from './password-gate';
import { can, hasScope, ROLE_LABELS, type Permission } from './permissions';
import { actorFromSessionCookie } from './session';
import { resolveBearerTokenCached } from './token-cache';
import { bearerFrom } from './tokens';
import { childLogger } from '@/lib/logger';
import { countRequest } from '@/lib/metrics';
import { AppError, errorResponse, toAppError, validationError } from '@/lib/http/errors';
import { programParam } from '@/lib/http/params';
import { enforceRateLimit, rateLimitHeaders, rateLimitKey, type RateLimitState } from '@/lib/http/rate-limit';
import { checkSameOrigin } from '@/lib/http/csrf';

export type RouteParams = Record<string, string | string[] | undefined>;
/** What Next.js passes a route handler besides the request. */
export type RouteContext<P extends RouteParams = RouteParams> = {
  params: Promise<P>;
  /** The route's template (`/api/v1/downloads/[signed]`) when the caller knows it: metrics count by it, never by the path. */
  route?: string;
};
/**
 * What a route handler enforces before its body runs, as withAuth or withRequest built it: read by
 * test/route-operations.test.ts, which holds it against the route's OpenAPI operation.
 */
export type RouteGate = { kind: 'public' } | { kind: 'auth'; options: AuthOptions };
export type RouteHandler<P extends RouteParams = RouteParams> = ((req: Request, ctx: RouteContext<P>) => Promise<Response>) & {
  readonly gate?: RouteGate;
};

export type RequestContext<P extends RouteParams = RouteParams> = {
  requestId: string;
  log: Logger;
  params: P;
  /** The database (pool and drizzle), resolved lazily so public routes work without one. */
  database: () => Database;
};
export type AuthedContext<P extends RouteParams = RouteParams, A extends Actor = Actor, G = undefined> = Omit<
  RequestContext<P>,
  'database'
> & {
  actor: A;
  /** drizzle over the process pool. */
  db: Db;
  database: Database;
  /** The program the request is about (withAuth's `program` option): checked against the caller's programs. */
  program: G;
  /** The program `?program=` named, if any (links in answers keep it). */
  requestedProgram: number | undefined;
  /**
   * An API client's own connections in ctx.program: the only ones a `clientFeed` route may answer
   * it for. Null for every other caller (sessions, personal tokens), whose role decides.
   */
  clientFeeds: readonly FeedConnection[] | null;
};

export type AuthOptions = {
  /** The permission the route needs (see lib/auth/permissions.ts). */
  permission?: Permission;
  /** The scope an API token needs; signed-in users are checked by permission only. */
  scope?: Scope;
  /** Refuse API tokens (routes that only make sense in the browser, like the program switcher); the handler's actor is a UserActor. */
  sessionOnly?: boolean;
  /** Spend one request of the caller's budget (lib/http/rate-limit.ts) before anything else is looked up. */
  rateLimit?: boolean;
  /**
   * The program the request is about, as ctx.program: 'required' — the one `?program=` names, else the
   * caller's only program (422 when it reaches several); 'optional' — checked only when named.
   * Programs the caller cannot see, and programs that do not exist, are answered alike: 404.
   */
  program?: 'required' | 'optional';
  /**
   * API clients (client-credentials tokens) may call this route, which answers them for their own
   * connections only (ctx.clientFeeds). Every other route answers an API client 404: a client
   * reads its feed and nothing else, whatever its scopes.
   */
  clientFeed?: boolean;
};

/** The actor a handler receives: a signed-in user for sessionOnly routes. */
export type ActorOf<O extends AuthOptions> = O extends { sessionOnly: true } ? UserActor : Actor;
/** ctx.program's type for the `program` option. */
export type ProgramOf<O extends AuthOptions> = O extends { program: 'required' }
  ? number
  : O extends { program: 'optional' }
    ? number | undefined
    : undefined;

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

function requestIdFor(req: Request): string {
  const incoming = req.headers.get('x-request-id');
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function withRequestId(res: Response, requestId: string): Response {
  try {
    res.headers.set('x-request-id', requestId);
    return res;
  } catch {
    // Some responses have immutable headers (e.g. Response.redirect): copy them.
    const copy = new Response(res.body, res);
    copy.headers.set('x-request-id', requestId);
    return copy;
  }
}

function isDatabaseDown(err: unknown): boolean {
  if (err instanceof DatabaseNotConfiguredError) return true;
  const code = (err as { code?: unknown })?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'CONNECTION_ENDED' ||
    code === 'CONNECTION_DESTROYED' ||
    code === '57P03'
  );
}

/** Request id and error mapping, without authentication: for the few public routes (health, auth). */
export function withRequest<P extends RouteParams = RouteParams>(
  handler: (req: Request, ctx: RequestContext<P>) => Promise<Response>,
): RouteHandler<P> {
  const route = async (req: Request, routeCtx: RouteContext<P>): Promise<Response> => {
    const requestId = requestIdFor(req);
    const started = performance.now();
    const log = childLogger({ request_id: requestId, method: req.method, path: safePath(req) });
    let res: Response;
    try {
      const params = ((await routeCtx?.params) ?? {}) as P;
      res = withRequestId(await handler(req, { requestId, log, params, database: getDatabase }), requestId);
    } catch (err) {
      res = errorResponse(mapError(err, log), requestId);
    }
    log.debug({ status: res.status, ms: Math.round(performance.now() - started) }, 'request');
    countRequest(req, routeCtx?.params, res.status, routeCtx?.route);
    return res;
  };
  return Object.assign(route, { gate: { kind: 'public' } as RouteGate });
}

function mapError(err: unknown, log: Logger): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseDown(err)) {
    log.error({ err: describe(err) }, 'database unavailable');
    return new AppError('unavailable', 'The database is unavailable. Try again in a moment.', undefined, { 'retry-after': '5' });
  }
  const mapped = toAppError(err);
  if (mapped.code === 'internal') log.error({ err: describe(err) }, 'unexpected error');
  return mapped;
}

/** Message, class and stack; never the request body or headers (they may hold secrets). */
function describe(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { type: err.name, message: err.message, code: (err as { code?: unknown }).code, stack: err.stack };
  return { value: String(err) };
}

function safePath(req: Request): string {
  try {
    return new URL(req.url).pathname;
  } catch {
    return '(unknown)';
  }
}

function unauthorized(message: string, bearerError?: 'invalid_token'): AppError {
  const challenge = bearerError ? `Bearer realm="dde", error="${bearerError}"` : 'Bearer realm="dde"';
  return new AppError('unauthorized', message, undefined, { 'www-authenticate': challenge });
}

/** Resolves who is calling: a bearer token when an Authorization header is sent, else the session cookie. */
export async function authenticate(req: Request, db: Db): Promise<Actor> {
  const authorization = req.headers.get('authorization');
  if (authorization) {
    const token = bearerFrom(authorization);
    if (!token) throw unauthorized('The Authorization header must be "Bearer <token>".', 'invalid_token');
    const actor = await resolveBearerTokenCached(db, token);
    if (!actor) throw unauthorized('The API token is invalid, expired or revoked.', 'invalid_token');
    return actor;
  }
  const actor = await actorFromSessionCookie(db, req.headers.get('cookie'));
  if (!actor) throw unauthorized('Sign in, or send an API token as "Authorization: Bearer <token>".');
  checkSameOrigin(req);
  return actor;
}

/** An API client on a route that is not its feed: nothing here for it (404, as for a route that does not exist). */
function notForClients(): AppError {
  return new AppError(
    'not_found',
    "Not found: an API client reads its own connections' files only (/api/v1/data_exports/…, /api/v1/folders, /api/v1/schemas); the management API takes a personal access token.",
  );
}

/** Refuses an authenticated actor that may not use the route (404 for an API client off its feed; 403 with the reason). */
export function authorize(actor: Actor, opts: AuthOptions): void {
  if (isApiClient(actor) && !opts.clientFeed) throw notForClients();
  if (actor.kind === 'token') {
    if (opts.sessionOnly) throw new AppError('forbidden', 'This route is for signed-in users, not API tokens.');
    if (opts.scope && !hasScope(actor.scopes, opts.scope)) {
      throw new AppError('forbidden', `This API token lacks the ${opts.scope} scope.`);
    }
  }
  if (opts.permission && !can(actor, opts.permission)) {
    const who =
      actor.kind === 'user' ? `${ROLE_LABELS[actor.role]}s` : actor.role ? `API tokens of ${ROLE_LABELS[actor.role]}s` : 'This API token';
    const readOnly = actor.kind === 'user' && actor.role === 'brand_super_admin' ? ' have read-only access and' : '';
    throw new AppError('forbidden', `${who}${readOnly} cannot do this: it needs the ${opts.permission} permission.`, {
      permission: opts.permission,
    });
  }
}

const programQuery = z.object({ program: programParam });

/** The program `?program=` names (422 when it is not a program id), or undefined. */
function requestedProgramOf(req: Request): number | undefined {
  const all = new URL(req.url).searchParams.getAll('program');
  if (all.length === 0 || (all.length === 1 && all[0] === '')) return undefined;
  const input = { program: all.length === 1 ? all[0] : all };
  const parsed = programQuery.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, 'query', input);
  return parsed.data.program;
}

/**
 * Wraps a route handler: `export const POST = withAuth(handler, { permission: 'connections.write', program: 'required' })`.
 * In order: who is calling (401), whether they may (403), their request budget (429), then the
 * program the request is about (422 / 404) — so the handler starts with everything checked.
 */
export function withAuth<const O extends AuthOptions = Record<never, never>>(
  handler: (req: Request, ctx: AuthedContext<RouteParams, ActorOf<O>, ProgramOf<O>>) => Promise<Response>,
  opts?: O,
): RouteHandler {
  const options: AuthOptions = opts ?? {};
  const route = withRequest(async (req, ctx) => {
    const database = ctx.database();
    const actor = await authenticate(req, database.db);
    requirePasswordChanged(actor, req);
    authorize(actor, options);
    const budget = options.rateLimit ? await enforceRateLimit(rateLimitKey(actor)) : undefined;
    const log = ctx.log.child({ actor: actor.kind === 'user' ? actor.accountId : `token:${actor.tokenId}` });
    let res: Response;
    try {
      const requestedProgram = options.program ? requestedProgramOf(req) : undefined;
      const program =
        options.program === 'required' || requestedProgram !== undefined
          ? await resolveProgram(database.db, actor, requestedProgram)
          : undefined;
      const clientFeeds = await clientFeedsOf(database.db, actor, program);
      res = await handler(req, {
        ...ctx,
        log,
        actor: actor as ActorOf<O>,
        db: database.db,
        database,
        program: program as ProgramOf<O>,
        requestedProgram,
        clientFeeds,
      });
    } catch (err) {
      if (!budget) throw err;
      res = errorResponse(mapError(err, log), ctx.requestId);
    }
    return budget ? withBudget(res, budget) : res;
  });
  return Object.assign(route, { gate: { kind: 'auth', options } as RouteGate });
}

/** Every answer of a rate-limited route says where the caller's budget stands (RateLimit-* headers). */
function withBudget(res: Response, budget: RateLimitState): Response {
  const headers = rateLimitHeaders(budget);
  try {
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
    return copy;
  }
}
