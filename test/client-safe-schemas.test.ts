// The response schemas are imported by the pages' components (their z.infer types) and must stay
// client-safe: their runtime imports, followed to the end, reach zod and our own pure modules only —
// never the database client, drizzle, node built-ins or another package.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const SCHEMA_MODULES = [
  'lib/management/responses.ts',
  'lib/export-api/schemas.ts',
  'lib/auth/api-access-schemas.ts',
  'lib/http/schemas.ts',
  'lib/webhooks/responses.ts',
  // Not a schema module, but the set-up form and the API read server addresses with it.
  'lib/connections/server-address.ts',
  // How a connection is named and where it delivers: the pages say it as the emails do.
  'lib/describe-connection.ts',
  // The run statuses' words, shown by the pages and written into the API reference.
  'lib/runs/vocabulary.ts',
  // Nor these: the historical request form and the connection page show ranges and windows with them.
  'lib/windows/days.ts',
  'lib/historical/range.ts',
  'lib/scheduling/next-delivery.ts',
  // The cloud storage set-up form checks its fields and builds the policies to paste with these.
  'lib/destinations/s3-settings.ts',
  'lib/destinations/azure-settings.ts',
];
const ALLOWED_PACKAGES = new Set(['zod']);

/** The specifiers a module imports at runtime (type-only imports and exports are erased). */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  const re = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) if (!m[1]) out.push(m[2]);
  return out;
}

function resolveLocal(from: string, spec: string): string | null {
  const base = spec.startsWith('@/')
    ? path.join(ROOT, spec.slice(2))
    : spec.startsWith('.')
      ? path.resolve(path.dirname(from), spec)
      : null;
  if (!base) return null;
  for (const candidate of [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      /* next */
    }
  }
  throw new Error(`cannot resolve ${spec} from ${path.relative(ROOT, from)}`);
}

/** Every module reached from `entry`, and the packages they import. */
function reach(entry: string): { modules: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      const local = resolveLocal(file, spec);
      if (local) visit(local);
      else packages.add(spec);
    }
  };
  visit(path.join(ROOT, entry));
  return { modules: [...seen].map((f) => path.relative(ROOT, f)).sort(), packages: [...packages].sort() };
}

describe('response schema modules', () => {
  for (const entry of SCHEMA_MODULES) {
    it(`${entry} imports nothing a browser bundle cannot hold`, () => {
      const { modules, packages } = reach(entry);
      expect(
        packages.filter((p) => !ALLOWED_PACKAGES.has(p)),
        `packages reached from ${entry}`,
      ).toEqual([]);
      expect(
        modules.filter((m) => m.startsWith('db/') && m !== 'db/schema/enums.ts'),
        `database modules reached from ${entry}`,
      ).toEqual([]);
    });
  }

  it('finds a server import when there is one, so the checks above can fail', () => {
    expect(
      reach('lib/management/views.ts').packages.length + reach('lib/management/views.ts').modules.filter((m) => m.startsWith('db/')).length,
    ).toBeGreaterThan(0);
    expect(runtimeImports("import type { X } from 'pg';\nimport { y, type Z } from '@/db/client';")).toEqual(['@/db/client']);
  });
});
