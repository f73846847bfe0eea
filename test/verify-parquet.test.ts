// dde verify reads Parquet files back: a run's Parquet files with a signed manifest verify, rows and
// event ids included; a manifest claiming one more row is named.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExportFiles } from '@/lib/exports';
import { verifyFolder } from '@/lib/exports/verify-folder';
import { LocalStorage } from '@/lib/storage';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { PROGRAM, seedGoldenProgram, WINDOW } from './exports/fixtures';

let t: TestDatabase;
let dir: string;
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const keys = new Map([['test-key', publicKey]]);
const signFile = (manifestPath: string) =>
  writeFileSync(
    `${manifestPath}.sig`,
    JSON.stringify({ alg: 'EdDSA', kid: 'test-key', signature: sign(null, readFileSync(manifestPath), privateKey).toString('base64url') }),
  );

beforeAll(async () => {
  t = await createTestDatabase();
  await seedGoldenProgram(t.sql);
  dir = mkdtempSync(path.join(os.tmpdir(), 'dde-verify-parquet-'));
});
afterAll(async () => {
  await t?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dde verify on Parquet files', () => {
  it('reads every Parquet file back: rows and event ids hold; a changed row count is named', async () => {
    const result = await generateExportFiles({
      sql: t.sql,
      storage: new LocalStorage(dir),
      keyPrefix: '',
      program: { id: PROGRAM, anonymizePii: false, pseudonymKey: 'k' },
      window: WINDOW,
      exportType: 'incremental',
      format: 'parquet',
      runId: '00000000-0000-4000-8000-000000000001',
      connectionId: null,
      sequence: 1,
    });
    expect(result.files.map((f) => f.name.endsWith('.parquet'))).toEqual([true, true, true]);
    const manifestPath = path.join(dir, result.manifest.name);
    signFile(manifestPath);
    const good = await verifyFolder(dir, keys);
    expect(good.problems).toEqual([]);
    expect(good.manifests).toMatchObject([{ rows: 22, problems: [], signature: 'ok (test-key)' }]);

    const doc = JSON.parse(readFileSync(manifestPath, 'utf8'));
    doc.files[2].rows += 1;
    writeFileSync(manifestPath, JSON.stringify(doc, null, 2) + '\n');
    signFile(manifestPath);
    const bad = await verifyFolder(dir, keys);
    expect(bad.ok).toBe(false);
    expect(bad.manifests[0].problems).toEqual([
      `${doc.files[2].name}: ${doc.files[2].rows - 1} rows, the manifest says ${doc.files[2].rows}`,
    ]);
  });
});
