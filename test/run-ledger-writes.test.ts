// One writer per table: a scan of the product's source (lib, jobs, scripts, app, pages, db,
// components; tests and migrations excluded) fails on any insert, update or delete of a table below
// outside its owner, whether through drizzle or in SQL text: export_runs and deliveries are written
// only by the run ledger (db/queries/run-ledger.ts), historical_requests by db/queries/historical.ts,
// connections by the connections writer (db/queries/connections.ts), export_files by
// db/queries/export-files.ts, notifications (the email outbox) by db/queries/notifications.ts,
// worker_heartbeats by db/queries/ops.ts, webhook_endpoints by db/queries/webhook-endpoints.ts.
// A new table with one writer is one more line in RULES.
//
// Queries live in db/queries: the same scan fails on a query of our database (a drizzle import, an
// `sql` template, `.execute(`, a builder call on one of the schema's tables) in lib, jobs, scripts,
// app, pages or components, outside the exceptions below, each with its reason.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { is } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import * as schema from '@/db/schema';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCANNED = ['lib', 'jobs', 'scripts', 'app', 'pages', 'db', 'components'];

type Rule = { table: string; drizzleName: string; owners: string[] };
const RULES: Rule[] = [
  { table: 'export_runs', drizzleName: 'exportRuns', owners: ['db/queries/run-ledger.ts'] },
  { table: 'deliveries', drizzleName: 'deliveries', owners: ['db/queries/run-ledger.ts'] },
  { table: 'historical_requests', drizzleName: 'historicalRequests', owners: ['db/queries/historical.ts'] },
  { table: 'connections', drizzleName: 'connections', owners: ['db/queries/connections.ts'] },
  { table: 'signing_keys', drizzleName: 'signingKeys', owners: ['db/queries/signing-keys.ts'] },
  { table: 'export_files', drizzleName: 'exportFiles', owners: ['db/queries/export-files.ts'] },
  { table: 'notifications', drizzleName: 'notifications', owners: ['db/queries/notifications.ts'] },
  { table: 'worker_heartbeats', drizzleName: 'workerHeartbeats', owners: ['db/queries/ops.ts'] },
  { table: 'webhook_endpoints', drizzleName: 'webhookEndpoints', owners: ['db/queries/webhook-endpoints.ts'] },
];

/** The writes of `rule`'s table that `source` contains, as the text that gives each away. */
function writesOf(source: string, rule: Rule): string[] {
  const t = rule.table;
  const d = rule.drizzleName;
  const patterns = [
    // drizzle: db.insert(exportRuns), tx.update(schema.exportRuns), .delete( deliveries )
    new RegExp(`\\.(insert|update|delete)\\(\\s*(?:\\w+\\.)?${d}\\s*[,)]`, 'g'),
    // an alias would hide the table from the pattern above
    new RegExp(`\\b${d}\\s+as\\s+\\w+`, 'g'),
    // SQL text: insert into / update / delete from / truncate, optionally quoted or schema-qualified
    new RegExp(
      `\\b(insert\\s+into|update|delete\\s+from|truncate(?:\\s+table)?)\\s+(?:only\\s+)?(?:"?public"?\\.)?"?${t}"?(?![\\w])`,
      'gi',
    ),
  ];
  return patterns.flatMap((p) => [...source.matchAll(p)].map((m) => m[0]));
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || rel === 'db/migrations') continue;
      out.push(...sourceFiles(rel));
    } else if (/\.(ts|tsx|js|mjs|cjs)$/.test(entry.name) && !/\.test\.(ts|tsx)$/.test(entry.name)) {
      out.push(rel);
    }
  }
  return out;
}

describe('the scanner', () => {
  const runs = RULES[0];
  const attempts = RULES[1];
  it('finds writes in drizzle calls and in SQL text', () => {
    expect(writesOf('await tx.update(exportRuns).set({ status: "failed" })', runs)).toHaveLength(1);
    expect(writesOf('await db\n  .insert( exportRuns )\n  .values(v)', runs)).toHaveLength(1);
    expect(writesOf('db.delete(schema.exportRuns).where(x)', runs)).toHaveLength(1);
    expect(writesOf('import { exportRuns as r } from "@/db/schema"', runs)).toHaveLength(1);
    expect(writesOf('sql`update export_runs r set status = ${s}`', runs)).toHaveLength(1);
    expect(writesOf('sql`UPDATE "export_runs" SET updated_at = now()`', runs)).toHaveLength(1);
    expect(writesOf('insert into public.export_runs (id) values (1)', runs)).toHaveLength(1);
    expect(writesOf('delete from export_runs where id = 1', runs)).toHaveLength(1);
    expect(writesOf('truncate export_runs', runs)).toHaveLength(1);
    expect(writesOf('await db.update(deliveries).set({})', attempts)).toHaveLength(1);
    expect(writesOf('sql`insert into deliveries (run_id) select 1`', attempts)).toHaveLength(1);
    const connections = RULES.find((r) => r.table === 'connections')!;
    expect(writesOf('await db.update(connections).set({ healthStatus: status })', connections)).toHaveLength(1);
    expect(writesOf('sqlText`update connections c set planned_through = v.through`', connections)).toHaveLength(1);
  });

  it('leaves reads alone', () => {
    expect(writesOf('db.select().from(exportRuns).where(eq(exportRuns.id, id))', runs)).toEqual([]);
    expect(writesOf('select r.id from export_runs r join deliveries d on d.run_id = r.id', runs)).toEqual([]);
    expect(writesOf('const deliveries = runs.delivery.filter((id) => !sent.has(id));', attempts)).toEqual([]);
    expect(writesOf('update export_runs_archive set x = 1', runs)).toEqual([]);
    const connections = RULES.find((r) => r.table === 'connections')!;
    expect(writesOf('db.select().from(connections).where(eq(connections.status, "active"))', connections)).toEqual([]);
    expect(writesOf('update api_client_connections set x = 1', connections)).toEqual([]);
  });
});

describe('writes of the tables with one writer', () => {
  const files = SCANNED.flatMap((dir) => sourceFiles(dir));

  it('scans the product source', () => {
    expect(files).toContain('lib/runs/deliver-run.ts');
    expect(files).toContain('db/queries/run-ledger.ts');
    expect(files).toContain('lib/scheduling/planner.ts');
    expect(files.some((f) => f.startsWith('db/migrations/'))).toBe(false);
  });

  for (const rule of RULES) {
    it(`${rule.table} is written only by ${rule.owners.join(', ')}`, () => {
      const offenders = files
        .filter((f) => !rule.owners.includes(f))
        .flatMap((f) => writesOf(readFileSync(path.join(ROOT, f), 'utf8'), rule).map((w) => `${f}: ${w}`));
      expect(offenders).toEqual([]);
      // The owner really is where the writes are (the scan would see them).
      expect(rule.owners.flatMap((f) => writesOf(readFileSync(path.join(ROOT, f), 'utf8'), rule)).length).toBeGreaterThan(0);
    });
  }
});

/** Files and folders (ending in /) outside db/queries that may query a database, and why. */
const QUERY_EXCEPTIONS: Record<string, string> = {
  'lib/destinations/database/': "the customer's database (the destination), not ours",
  'lib/queues/': "pg-boss's own tables (its job and queue tables): the queue contract is their one home",
  'lib/seed/': 'set-based generation of source data for the demo, the tests and the benches',
  'lib/webhooks/deliveries.ts': 'the webhook outbox, whose writer it is (`webhook_deliveries`, sent under a row lock)',
};

const QUERY_DIRS = ['lib', 'jobs', 'scripts', 'app', 'pages', 'components'];
const TABLES = Object.entries(schema)
  .filter(([, v]) => is(v, PgTable))
  .map(([name]) => name);

/** Comments out: a comment may name `sql` or a table. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The queries of our database that `source` contains, as the text that gives each away. */
function queriesOf(source: string): string[] {
  const code = withoutComments(source);
  const patterns = [
    // a value (not only types) from drizzle-orm: eq, and, sql, …
    /^import\s+(?!type\b)[^;]*?from\s+'drizzle-orm(?:\/[\w-]+)?'/gm,
    // a tagged sql template: sql`…`, database.sql`…`, sql<Row[]>`…`
    /\bsql(?:<[^`;]*?>)?`/g,
    /\.execute\(/g,
    // a builder call on a table: .from(exportRuns), .insert(schema.connections), .leftJoin(accounts, …)
    new RegExp(
      `\\.(?:from|insert|update|delete|innerJoin|leftJoin|rightJoin|fullJoin)\\(\\s*(?:schema\\.)?(?:${TABLES.join('|')})\\b`,
      'g',
    ),
  ];
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[0].replace(/\s+/g, ' ').slice(0, 60)));
}

const excepted = (f: string) => Object.keys(QUERY_EXCEPTIONS).some((e) => (e.endsWith('/') ? f.startsWith(e) : f === e));

describe('queries live in db/queries', () => {
  it('the scanner finds queries and leaves other code alone', () => {
    expect(TABLES).toEqual(expect.arrayContaining(['exportRuns', 'connections', 'exportFiles', 'notifications']));
    expect(queriesOf("import { and, eq } from 'drizzle-orm';")).toHaveLength(1);
    expect(queriesOf("import type { SQL } from 'drizzle-orm';")).toEqual([]);
    expect(queriesOf('const [row] = await database.sql`select 1 from programs`;')).toHaveLength(1);
    expect(queriesOf('await sql<{ n: number }[]>`select count(*) from export_runs`')).toHaveLength(1);
    expect(queriesOf('await tx.execute(q)')).toHaveLength(1);
    expect(queriesOf('db.select().from(exportRuns).where(x)')).toHaveLength(1);
    expect(queriesOf('db.select().from(schema.connections)')).toHaveLength(1);
    expect(queriesOf('const b = Buffer.from(chunk); await storage.delete(key); hash.update(content);')).toEqual([]);
    expect(queriesOf('// the sql`…` of db/queries/runs.ts\n/** .from(exportRuns) */')).toEqual([]);
  });

  it('has no query outside db/queries but the stated exceptions', () => {
    const offenders = QUERY_DIRS.flatMap((dir) => sourceFiles(dir))
      .filter((f) => !excepted(f))
      .flatMap((f) => queriesOf(readFileSync(path.join(ROOT, f), 'utf8')).map((q) => `${f}: ${q}`));
    expect(offenders).toEqual([]);
  });

  it('each exception still holds a query (else it is removed from the list)', () => {
    for (const e of Object.keys(QUERY_EXCEPTIONS)) {
      const files = e.endsWith('/') ? sourceFiles(e.slice(0, -1)) : [e];
      const found = files.some((f) => queriesOf(readFileSync(path.join(ROOT, f), 'utf8')).length > 0);
      expect(found, e).toBe(true);
    }
  });
});
