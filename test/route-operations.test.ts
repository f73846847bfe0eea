// Every route file (app/api/**/route.ts, pages/api/**) against the OpenAPI document: each method a
// route answers has its operation (same path, same method), and the operation's security, permission
// and scope are what the handler's gate (withAuth's options) enforces. A new route without its
// operation, or an operation that promises another permission than the handler checks, fails here.
// The few routes that are not part of the API are listed below with the reason.
import { describe, expect, it } from 'vitest';
import { API_OPERATIONS } from '@/lib/api-document';
import type { ApiOperation } from '@/lib/http/openapi';
import { listRouteFiles, loadRoutes, type Route } from './helpers/routes';

/** Routes the API document leaves out on purpose: `METHOD path` → why. */
const NOT_IN_THE_API: Record<string, string> = {
  'GET /api/auth/{...nextauth}': 'next-auth’s sign-in pages and callbacks (the browser’s, not an API)',
  'POST /api/auth/{...nextauth}': 'next-auth’s sign-in form posts',
  'POST /api/account/password': 'the signed-in person’s own password form',
  'POST /api/session/program': 'the admin UI’s program switcher (a cookie)',
  'GET /api/health': 'an operations probe',
  'GET /api/health/live': 'an operations probe',
  'GET /api/health/ready': 'an operations probe',
  'GET /api/metrics': 'Prometheus metrics (served as /metrics)',
  'GET /api/v1/openapi.json': 'the document itself',
};

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

function operationFor(route: Route): ApiOperation | undefined {
  return API_OPERATIONS.find((op) => op.path === route.path && op.method === route.method.toLowerCase());
}

/** Where the operation and the handler's gate disagree, in words; empty when they agree. */
function problems(route: Route, op: ApiOperation): string[] {
  const out: string[] = [];
  const differ = (what: string, documented: unknown, enforced: unknown) => {
    if (JSON.stringify(documented) !== JSON.stringify(enforced)) {
      out.push(`${what}: documented ${JSON.stringify(documented)}, enforced ${JSON.stringify(enforced)}`);
    }
  };
  const gate = route.gate;
  if (!gate) return ['not built by withAuth or withRequest: what it enforces is unknown'];
  if (gate.kind === 'public') {
    // Public routes carry their own credential (a signed link, the client's id and secret).
    differ(
      'security',
      op.security.filter((s) => s === 'bearer' || s === 'session'),
      [],
    );
    differ('permission', op.permission, undefined);
    differ('scope', op.scope, undefined);
    return out;
  }
  const { options } = gate;
  differ('permission', op.permission, options.permission);
  differ('security', [...op.security].sort(), options.sessionOnly ? ['session'] : ['bearer', 'session']);
  // A session-only route never sees a token: a scope there would be a promise nobody checks.
  differ('scope', op.scope, options.sessionOnly ? undefined : options.scope);
  // Rate-limited routes document 429 (with the budget headers).
  differ('429 response', 429 in op.responses, Boolean(options.rateLimit));
  // The program the request is about is a documented query parameter.
  differ('?program= parameter', Object.keys(op.query?.shape ?? {}).includes('program'), Boolean(options.program));
  // Path parameters: the route file's names, no more.
  differ('path parameters', Object.keys(op.params?.shape ?? {}).sort(), [...route.params].sort());
  // A caller may be refused: 401 always, 403 when the route needs a permission, a scope or a session.
  differ('401 response', 401 in op.responses, true);
  differ('403 response', 403 in op.responses, Boolean(options.permission || options.scope || options.sessionOnly));
  return out;
}

const routes = await loadRoutes();

describe('the route files', () => {
  it('are found on disk, in both routers', () => {
    const files = listRouteFiles();
    expect(files.some((f) => f.router === 'app' && f.path === '/api/v1/connections/{id}')).toBe(true);
    expect(files.some((f) => f.router === 'pages' && f.path === '/api/v1/data_exports/{type}/latest')).toBe(true);
    expect(files.find((f) => f.file === 'pages/api/v1/data_exports/[type]/index.ts')?.path).toBe('/api/v1/data_exports/{type}');
    expect(routes.length).toBeGreaterThan(50);
  });

  it('serve the whole export API (files, folders, downloads) from one router, pages/api/v1', () => {
    const exportApi = routes.filter((r) => /^\/api\/v1\/(data_exports|folders|downloads)(\/|$)/.test(r.path));
    expect(exportApi.length).toBeGreaterThanOrEqual(6);
    expect(exportApi.filter((r) => r.router !== 'pages').map((r) => r.file)).toEqual([]);
  });

  it('each answer through withAuth or withRequest, so what they enforce is known', () => {
    const unknown = routes.filter((r) => !r.gate && r.path !== '/api/metrics').map((r) => `${key(r.method, r.path)} (${r.file})`);
    expect(unknown).toEqual([]);
  });
});

describe('each route against its OpenAPI operation', () => {
  it('every route method has its operation, unless it is listed as outside the API', () => {
    const missing = routes
      .filter((r) => !operationFor(r) && !(key(r.method, r.path) in NOT_IN_THE_API))
      .map((r) => `${key(r.method, r.path)} (${r.file})`);
    expect(missing, 'routes without an OpenAPI operation').toEqual([]);
  });

  it('the routes listed as outside the API exist and are indeed not documented', () => {
    for (const k of Object.keys(NOT_IN_THE_API)) {
      const route = routes.find((r) => key(r.method, r.path) === k);
      expect(route, `${k}: no such route`).toBeDefined();
      expect(operationFor(route!), `${k} is documented after all`).toBeUndefined();
    }
  });

  it('every operation is served by a route file', () => {
    const served = new Set(routes.map((r) => key(r.method, r.path)));
    const orphans = API_OPERATIONS.filter((op) => !served.has(key(op.method, op.path))).map(
      (op) => `${key(op.method, op.path)} ${op.operationId}`,
    );
    expect(orphans).toEqual([]);
  });

  it.each(routes.filter((r) => operationFor(r)).map((r) => [key(r.method, r.path), r] as const))(
    '%s: the permission, scope, security and parameters the handler enforces',
    (_name, route) => {
      expect(problems(route, operationFor(route)!)).toEqual([]);
    },
  );
});

describe('the check itself', () => {
  const find = (k: string) => {
    const route = routes.find((r) => key(r.method, r.path) === k)!;
    return { route, op: operationFor(route)! };
  };

  it('names an operation that promises another permission, scope or security than the handler enforces', () => {
    const { route, op } = find('POST /api/v1/connections');
    expect(problems(route, op)).toEqual([]);
    expect(problems(route, { ...op, permission: 'connections.read' })).toEqual([
      'permission: documented "connections.read", enforced "connections.write"',
    ]);
    expect(problems(route, { ...op, scope: 'data_exports.read' })).toEqual([
      'scope: documented "data_exports.read", enforced "data_exports.manage"',
    ]);
    const tokens = find('POST /api/v1/tokens');
    expect(problems(tokens.route, { ...tokens.op, security: ['bearer', 'session'] })).toHaveLength(1);
  });

  it('names a rate limit, a program or a path parameter the document leaves out', () => {
    const { route, op } = find('GET /api/v1/folders/{run_id}/archive');
    expect(problems(route, op)).toEqual([]);
    const { 429: _limited, ...responses } = op.responses;
    expect(problems(route, { ...op, responses, query: undefined, params: undefined })).toEqual([
      '429 response: documented false, enforced true',
      '?program= parameter: documented false, enforced true',
      'path parameters: documented [], enforced ["run_id"]',
    ]);
  });
});
