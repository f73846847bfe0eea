// Every route file of the web app, found on disk, and what each serves: App Router route handlers
// (app/api/**/route.ts) and Pages Router API routes (pages/api/**). A test that must cover every
// route walks this list, so a new route file is covered — or fails the test — without anyone adding
// it to a list by hand (test/route-operations.test.ts: each route against its OpenAPI operation).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeRoute } from '@/lib/http/node-adapter';
import type { RouteGate, RouteHandler } from '@/lib/auth/with-auth';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
const METHODS: readonly Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export type RouteFile = {
  /** Relative to the repository: `app/api/v1/connections/[id]/route.ts`. */
  file: string;
  router: 'app' | 'pages';
  /** The URL path in OpenAPI form: `/api/v1/connections/{id}` (a catch-all is `{...name}`). */
  path: string;
  /** The path parameters' names, in order. */
  params: string[];
};

export type Route = RouteFile & {
  method: Method;
  /**
   * The web handler (Request → Response) that answers: the App Router export, or the one a Pages
   * Router route serves through lib/http/node-adapter.ts. Undefined for a Pages route written
   * against Node's request and response directly (GET /metrics), which `node` then holds.
   */
  handler: RouteHandler | undefined;
  node?: (req: never, res: never) => unknown;
  /** What the handler enforces before its body runs (withAuth's options, or public); undefined when it is not built by withAuth or withRequest. */
  gate: RouteGate | undefined;
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...walk(rel));
    else if (/\.(ts|tsx|js|mjs)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** A file-system route's URL path: `[id]` → `{id}`, `[...all]` → `{...all}`, route groups `(x)` dropped. */
function urlOf(segments: string[]): { path: string; params: string[] } {
  const params: string[] = [];
  const parts = segments
    .filter((s) => !/^\(.*\)$/.test(s))
    .map((s) => {
      const m = /^\[\[?(\.\.\.)?([^\]]+)\]\]?$/.exec(s);
      if (!m) return s;
      params.push(m[2]);
      return `{${m[1] ?? ''}${m[2]}}`;
    });
  return { path: `/${parts.join('/')}`, params };
}

/** Every route file, sorted by path: app/api/**\/route.ts and pages/api/**. */
export function listRouteFiles(): RouteFile[] {
  const app = walk('app/api')
    .filter((f) => /\/route\.(ts|js)$/.test(f))
    .map((file): RouteFile => ({ file, router: 'app', ...urlOf(file.split('/').slice(1, -1)) }));
  const pages = walk('pages/api').map((file): RouteFile => {
    const segments = file
      .replace(/\.(ts|tsx|js|mjs)$/, '')
      .split('/')
      .slice(1);
    if (segments.at(-1) === 'index') segments.pop();
    return { file, router: 'pages', ...urlOf(segments) };
  });
  return [...app, ...pages].sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Every (route file, method) with its handler and gate. An App Router file answers the methods it
 * exports; a Pages Router route built with nodeRoute answers GET (HEAD is answered from GET, as the
 * App Router does). Imports every route module.
 */
export async function loadRoutes(): Promise<Route[]> {
  const routes: Route[] = [];
  for (const rf of listRouteFiles()) {
    const mod = (await import(path.join(ROOT, rf.file))) as Record<string, unknown>;
    if (rf.router === 'app') {
      for (const method of METHODS) {
        const handler = mod[method] as RouteHandler | undefined;
        if (typeof handler === 'function') routes.push({ ...rf, method, handler, gate: handler.gate });
      }
    } else {
      const node = mod.default as (NodeRoute | ((req: never, res: never) => unknown)) & { web?: RouteHandler };
      const handler = node.web;
      routes.push({ ...rf, method: 'GET', handler, node: handler ? undefined : node, gate: handler?.gate });
    }
  }
  return routes;
}
