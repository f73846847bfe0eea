// A file exported by several COPY streams is several gzip members one after another: still one
// .gz that gunzip, Python's gzip and zlib modules and Node's zlib read whole, with exactly the rows
// (and bytes) of a one-stream export, in the same order, and a sha256 over the stored bytes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExportFiles, type GeneratedFiles } from '@/lib/exports';
import { LocalStorage } from '@/lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { GENERATED_AT, PROGRAM, seedGoldenProgram, WINDOW } from './fixtures';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

let t: TestDatabase;
let root: string;
const runs: Record<string, GeneratedFiles> = {};

/** Counts the members with zlib's own reader (one member per decompressobj) and returns them with the whole text. */
const PYTHON = `
import gzip, hashlib, sys, zlib
data = open(sys.argv[1], 'rb').read()
members, out, rest = 0, b'', data
while rest:
    d = zlib.decompressobj(wbits=31)
    out += d.decompress(rest) + d.flush()
    if not d.eof: sys.exit('truncated member')
    members += 1
    rest = d.unused_data
assert gzip.decompress(data) == out, 'gzip module and zlib disagree'
with gzip.open(sys.argv[1], 'rb') as f:
    assert f.read() == out, 'gzip.open and zlib disagree'
print(members, hashlib.sha256(out).hexdigest())
`;

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const fileOf = (run: string, type: string) => path.join(root, run, `4021-11-28-2026-08-${type}-incremental.gz`);

beforeAll(async () => {
  t = await createTestDatabase();
  await seedGoldenProgram(t.sql);
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-members-'));
  // One row per slice, three COPYs at once: every slice bound falls between two rows, including
  // rows with equal times and fractional seconds.
  const variants = {
    'csv-one': { format: 'csv', streams: 1, sliceRows: 1_000_000 },
    'csv-sliced': { format: 'csv', streams: 3, sliceRows: 1 },
    'jsonl-sliced': { format: 'jsonl', streams: 2, sliceRows: 2 },
  } as const;
  for (const [name, v] of Object.entries(variants)) {
    runs[name] = await generateExportFiles({
      sql: t.sql,
      storage: new LocalStorage(path.join(root, name)),
      keyPrefix: '',
      program: { id: PROGRAM, anonymizePii: false, pseudonymKey: 'unused0000000000' },
      window: WINDOW,
      exportType: 'incremental',
      format: v.format,
      runId: `members-${name}`,
      connectionId: '00000000-0000-4000-8000-000000000001',
      generatedAt: GENERATED_AT,
      streams: v.streams,
      sliceRows: v.sliceRows,
    });
  }
});
afterAll(async () => {
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a file exported in slices', () => {
  it.each([
    ['csv-sliced', 'csv', 1],
    ['jsonl-sliced', 'jsonl', 2],
  ] as const)('%s: gunzip, Python (gzip and zlib) and Node zlib all read the golden rows from several members', (run, golden, perSlice) => {
    for (const type of ['user', 'campaign', 'activity'] as const) {
      const file = fileOf(run, type);
      const expected = readFileSync(path.join(GOLDEN, `${type}.${golden}`), 'utf8');
      const rows = runs[run].files.find((f) => f.fileType === type)!.rows;

      const gunzip = spawnSync('gunzip', ['-c', file]);
      expect(gunzip.status, gunzip.stderr.toString()).toBe(0);
      expect(gunzip.stdout.toString('utf8')).toBe(expected);
      // gzip -t checks every member's CRC and length.
      expect(spawnSync('gzip', ['-t', file]).status).toBe(0);

      const py = spawnSync('python3', ['-c', PYTHON, file], { encoding: 'utf8' });
      expect(py.status, py.stderr).toBe(0);
      const [members, digest] = py.stdout.trim().split(' ');
      expect(digest).toBe(sha256(expected));
      // One member per slice.
      expect(Number(members)).toBe(Math.ceil(rows / perSlice));

      expect(gunzipSync(readFileSync(file)).toString('utf8')).toBe(expected);
    }
  });

  it('holds the same bytes, once uncompressed, as a one-stream export; the one-stream export is a single member', () => {
    for (const type of ['user', 'campaign', 'activity'] as const) {
      const one = readFileSync(fileOf('csv-one', type));
      const sliced = readFileSync(fileOf('csv-sliced', type));
      expect(gunzipSync(sliced).equals(gunzipSync(one))).toBe(true);
      const py = spawnSync('python3', ['-c', PYTHON, fileOf('csv-one', type)], { encoding: 'utf8' });
      expect(py.stdout.split(' ')[0]).toBe('1');
    }
  });

  it('records rows, bytes and the sha256 of the stored bytes, which its sidecar verifies', () => {
    for (const run of ['csv-sliced', 'jsonl-sliced']) {
      const single = runs['csv-one'];
      for (const f of runs[run].files) {
        const bytes = readFileSync(path.join(root, run, f.name));
        expect(f.bytes).toBe(bytes.length);
        expect(f.sha256).toBe(sha256(bytes));
        expect(f.rows).toBe(single.files.find((s) => s.fileType === f.fileType)!.rows);
      }
      const check = spawnSync('sha256sum', ['-c', ...runs[run].files.map((f) => `${f.name}.sha256`)], { cwd: path.join(root, run) });
      expect(check.status, check.stdout.toString()).toBe(0);
    }
  });
});
