// One writer per table: a scan of the product's source (lib, jobs, scripts, app, pages, db,
// components; tests and migrations excluded) fails on any insert, update or delete of a table below
// outside its owner, whether through drizzle or in SQL text: export_runs and deliveries are written
// only by the run ledger (db/queries/run-ledger.ts), historical_requests by db/queries/historical.ts,
// connections by the connections writer (db/queries/connections.ts), export_files by
// db/queries/export-files.ts. A new table with one writer is one more line in RULES.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

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
