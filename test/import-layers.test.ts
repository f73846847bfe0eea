// No import cycles between lib's folders (docs/architecture.md, "Layers"). The graph is built from the
// sources: a node is one folder of lib (lib/auth, lib/http, …), one module at lib's top (lib/env,
// lib/clock, …), or one of the folders around lib (db, jobs, app, pages, components, scripts); an
// edge is a runtime import from a file of one node to a file of another. `import type`, imports of
// types only and `export type … from` are erased at run time and do not count; `import()` does.
// A cycle fails the test, named with one import of each of its steps.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const SCANNED = ['lib', 'db', 'jobs', 'app', 'pages', 'components', 'scripts'];

/** The module specifiers a source imports at run time. */
export function runtimeImports(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typesOnly = clause?.isTypeOnly || (clause && !clause.name && named && named.length > 0 && named.every((e) => e.isTypeOnly));
      if (!typesOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      const typesOnly = node.isTypeOnly || (named && named.length > 0 && named.every((e) => e.isTypeOnly));
      if (!typesOnly) found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0 &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The node a repository path belongs to: lib's folder or top-level module, or the top folder. */
export function nodeOf(repoPath: string): string {
  const parts = repoPath.replace(/\.(tsx?|js|mjs)$/, '').split('/');
  if (parts[0] === 'lib') return parts.length > 1 ? `lib/${parts[1]}` : 'lib';
  return parts[0];
}

/** The repository path a specifier names (`@/x` or relative), or undefined for packages. */
function target(fromFile: string, specifier: string): string | undefined {
  if (specifier.startsWith('@/')) return specifier.slice(2);
  if (specifier.startsWith('.')) return path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, fromFile)), specifier));
  return undefined;
}

function sourcesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'migrations') out.push(...sourcesUnder(rel));
    } else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) out.push(rel);
  }
  return out;
}

type Edge = { from: string; to: string; example: string };

/** Node → node → one import that makes the edge (`file → specifier`). */
export function importGraph(files: { path: string; text: string }[]): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const f of files) {
    const from = nodeOf(f.path);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const spec of runtimeImports(f.path, f.text)) {
      const t = target(f.path, spec);
      if (t === undefined || t.startsWith('..')) continue;
      const to = nodeOf(t);
      if (to === from || !SCANNED.includes(to.split('/')[0])) continue;
      const edges = graph.get(from)!;
      if (!edges.has(to)) edges.set(to, `${f.path} → ${spec}`);
    }
  }
  return graph;
}

/** Every cycle's nodes (strongly connected components of more than one node), each as one closed path of edges. */
export function cycles(graph: Map<string, Map<string, string>>): Edge[][] {
  // Tarjan's algorithm over the node graph.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strong = (v: string) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!indices.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) strong(v);

  // One closed path through each component, from its first node: the shortest way back (breadth first).
  return components.map((component) => {
    const inside = new Set(component);
    const start = component[0];
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of graph.get(v)?.keys() ?? []) {
        if (!inside.has(w) || previous.has(w)) continue;
        previous.set(w, v);
        if (w === start) break;
        queue.push(w);
      }
      if (previous.has(start)) break;
    }
    const path: Edge[] = [];
    let to = start;
    do {
      const from = previous.get(to)!;
      path.unshift({ from, to, example: graph.get(from)!.get(to)! });
      to = from;
    } while (to !== start);
    return path;
  });
}

const describeCycle = (cycle: Edge[]) =>
  `${cycle.map((e) => e.from).join(' → ')} → ${cycle[0].from}\n${cycle.map((e) => `    ${e.from} → ${e.to}: ${e.example}`).join('\n')}`;

describe('the import graph scanner', () => {
  it('counts runtime imports, re-exports and import(), and leaves out imports of types only', () => {
    const text = [
      "import { a } from '@/lib/a/x';",
      "import type { B } from '@/lib/b/x';",
      "import { type C, type D } from '@/lib/c/x';",
      "import { type E, e } from '@/lib/e/x';",
      "export { f } from './f';",
      "export type { G } from '@/lib/g/x';",
      "const h = await import('@/lib/h');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(runtimeImports('lib/k/y.ts', text)).toEqual(['@/lib/a/x', '@/lib/e/x', './f', '@/lib/h', 'zod']);
  });

  it("names lib's folders and top-level modules, and the folders around lib as a whole", () => {
    expect(nodeOf('lib/auth/with-auth.ts')).toBe('lib/auth');
    expect(nodeOf('lib/env.ts')).toBe('lib/env');
    expect(nodeOf('lib/webhooks')).toBe('lib/webhooks');
    expect(nodeOf('db/queries/run-ledger.ts')).toBe('db');
    expect(nodeOf('components/ui/primitives.tsx')).toBe('components');
  });

  it('finds a cycle through several folders and names each step', () => {
    const graph = importGraph([
      { path: 'lib/a/one.ts', text: "import { b } from '@/lib/b/two';" },
      { path: 'lib/b/two.ts', text: "import { c } from '@/lib/c';" },
      { path: 'lib/c.ts', text: "import { a } from './a/one';" },
      { path: 'lib/d/four.ts', text: "import { a } from '@/lib/a/one'; import type { D } from '@/lib/d2/x';" },
      { path: 'lib/d2/x.ts', text: "import { d } from '@/lib/d/four';" },
    ]);
    const found = cycles(graph);
    expect(found.map(describeCycle)).toEqual([
      'lib/a → lib/b → lib/c → lib/a\n' +
        '    lib/a → lib/b: lib/a/one.ts → @/lib/b/two\n' +
        '    lib/b → lib/c: lib/b/two.ts → @/lib/c\n' +
        '    lib/c → lib/a: lib/c.ts → ./a/one',
    ]);
  });
});

describe('the folders of lib', () => {
  const files = SCANNED.flatMap((dir) =>
    statSync(path.join(ROOT, dir), { throwIfNoEntry: false })?.isDirectory() ? sourcesUnder(dir) : [],
  );
  const graph = importGraph(files.map((p) => ({ path: p, text: readFileSync(path.join(ROOT, p), 'utf8') })));

  it('scans the product source', () => {
    expect(files.length).toBeGreaterThan(200);
    expect(graph.get('lib/auth')?.has('lib/http')).toBe(true);
  });

  it('import each other without a cycle', () => {
    expect(cycles(graph).map(describeCycle)).toEqual([]);
  });
});
