// `dde export`: the same files a scheduled run writes, into a directory; clear one-line errors
// (exit 2) and nothing written for bad arguments.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { parseCsv, PROGRAM, readGz, seedGoldenProgram } from './fixtures';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

let t: TestDatabase;
let root: string;

beforeAll(async () => {
  t = await createTestDatabase();
  await seedGoldenProgram(t.sql);
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-cli-export-'));
});
afterAll(async () => {
  await t?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

function dde(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'export', ...args], {
      env: {
        ...process.env,
        DATABASE_URL: t.url,
        NEXTAUTH_SECRET: 'cli-test-secret-0123456789abcdef0123456789',
        DDE_ENCRYPTION_KEY: 'ab'.repeat(32),
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const range = ['--from', '2026-11-28T00:00:00Z', '--to', '2026-11-29T00:00:00Z'];

describe('dde export', () => {
  it('writes the files a scheduled run writes, one run per window of the range, and prints each file with rows and bytes', async () => {
    const out = path.join(root, 'ok', 'nested');
    const r = await dde(['--program', String(PROGRAM), ...range, '--frequency', 'every_4_hours', '--out', out]);
    expect(r.stderr).not.toMatch(/^dde:/m);
    expect(r.code).toBe(0);
    // The seed has rows just before 08:00 and exactly at 12:00: they land in the neighbouring windows.
    const names = (hh: string, types: string[]) =>
      types.flatMap((t) =>
        t === 'manifest'
          ? [`4021-11-28-2026-${hh}-manifest-incremental.json`]
          : [`4021-11-28-2026-${hh}-${t}-incremental.gz`, `4021-11-28-2026-${hh}-${t}-incremental.gz.sha256`],
      );
    expect(readdirSync(out).sort()).toEqual(
      [
        ...names('00', ['manifest']),
        ...names('04', ['user', 'activity', 'manifest']),
        ...names('08', ['user', 'campaign', 'activity', 'manifest']),
        ...names('12', ['user', 'activity', 'manifest']),
        ...names('16', ['manifest']),
        ...names('20', ['manifest']),
      ].sort(),
    );
    expect(r.stdout).toContain('2026-11-28T00:00:00Z → 2026-11-28T04:00:00Z: no rows, only the manifest');
    expect(r.stdout).toContain('2026-11-28T16:00:00Z → 2026-11-28T20:00:00Z: no rows, only the manifest');
    expect(r.stdout).toMatch(/ {2}4021-11-28-2026-12-activity-incremental\.gz {2}1 rows {2}[\d,]+ bytes/);
    expect(r.stdout).toMatch(/ {2}4021-11-28-2026-08-activity-incremental\.gz {2}18 rows {2}[\d,]+ bytes/);
    expect(r.stdout).toMatch(/ {2}4021-11-28-2026-08-user-incremental\.gz {2}2 rows {2}[\d,]+ bytes/);
    const check = spawnSync('sh', ['-c', 'sha256sum -c *.sha256'], { cwd: out, encoding: 'utf8' });
    expect(check.status).toBe(0);
    // The golden files' rows and encoding, but for the generation time.
    for (const type of ['user', 'campaign', 'activity']) {
      const ours = parseCsv(readGz(path.join(out, `4021-11-28-2026-08-${type}-incremental.gz`)));
      const golden = parseCsv(readFileSync(path.join(GOLDEN, `${type}.csv`), 'utf8'));
      const g = golden[0].indexOf('Generated At');
      expect(ours[0]).toEqual(golden[0]);
      expect(new Set(ours.slice(1).map((r) => r[g])).size).toBe(1);
      expect(ours.slice(1).map((r) => r.toSpliced(g, 1))).toEqual(golden.slice(1).map((r) => r.toSpliced(g, 1)));
    }
    const manifest = JSON.parse(readFileSync(path.join(out, '4021-11-28-2026-08-manifest-incremental.json'), 'utf8'));
    expect(manifest).toMatchObject({
      program_id: PROGRAM,
      connection_id: null,
      export_type: 'incremental',
      sequence: 3,
      window: { start: '2026-11-28T08:00:00Z', end: '2026-11-28T12:00:00Z' },
      previous_window_end: '2026-11-28T08:00:00Z',
      rows: 22,
    });
    const empty = JSON.parse(readFileSync(path.join(out, '4021-11-28-2026-16-manifest-incremental.json'), 'utf8'));
    expect(empty).toMatchObject({ sequence: 5, rows: 0, files: [] });
  });

  it('exports one type, as jsonl and historical, in one window when no frequency is given', async () => {
    const out = path.join(root, 'one');
    const r = await dde([
      '--program',
      String(PROGRAM),
      ...range,
      '--type',
      'activity',
      '--format',
      'jsonl',
      '--export-type',
      'historical',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      '4021-11-28-2026-00-activity-historical.gz',
      '4021-11-28-2026-00-activity-historical.gz.sha256',
      '4021-11-28-2026-00-manifest-historical.json',
    ]);
    const lines = readGz(path.join(out, '4021-11-28-2026-00-activity-historical.gz')).trimEnd().split('\n');
    // The whole day: the window's 18 events and the two just outside it.
    expect(lines.map((l) => (JSON.parse(l) as Record<string, string>)['Event ID'])).toEqual([
      '9101',
      ...Array.from({ length: 18 }, (_, i) => String(9001 + i)),
      '9100',
    ]);
  });

  it('exports parquet files that pyarrow reads, named .parquet with their sidecars', async () => {
    const out = path.join(root, 'parquet');
    const r = await dde(['--program', String(PROGRAM), ...range, '--type', 'campaigns', '--format', 'parquet', '--out', out]);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      '4021-11-28-2026-00-campaign-incremental.parquet',
      '4021-11-28-2026-00-campaign-incremental.parquet.sha256',
      '4021-11-28-2026-00-manifest-incremental.json',
    ]);
    const names = execFileSync(
      'python3',
      [
        '-c',
        'import sys, pyarrow.parquet as pq; print("|".join(pq.read_table(sys.argv[1]).column("campaign_name").to_pylist()))',
        path.join(out, '4021-11-28-2026-00-campaign-incremental.parquet'),
      ],
      { encoding: 'utf8' },
    );
    expect(names.trim()).toBe('Q4 "All-hands", recap|Plain');
  });

  const fileInTheWay = () => {
    const file = path.join(root, 'a-file');
    writeFileSync(file, 'not a directory');
    return file;
  };

  it.each([
    ['an unknown program', ['--program', '999', ...range], /^dde: --program: program 999 was not found$/],
    [
      'from equal to to',
      ['--program', '4021', '--from', '2026-11-28T00:00:00Z', '--to', '2026-11-28T00:00:00Z'],
      /^dde: --from: must be before --to$/,
    ],
    ['from after to', ['--program', '4021', '--from', '2026-11-29', '--to', '2026-11-28'], /^dde: --from: must be before --to$/],
    [
      'a date without a zone',
      ['--program', '4021', '--from', '2026-11-28T08:00', '--to', '2026-11-29'],
      /^dde: --from: must be an ISO 8601 date/,
    ],
    [
      'a date that does not exist',
      ['--program', '4021', '--from', '2026-02-30', '--to', '2026-03-02'],
      /^dde: --from: is not a valid date$/,
    ],
    ['a bad format', ['--program', '4021', ...range, '--format', 'pdf'], /^dde: --format: /],
    ['a bad frequency', ['--program', '4021', ...range, '--frequency', 'hourly'], /^dde: --frequency: /],
    ['a bad type', ['--program', '4021', ...range, '--type', 'everything'], /^dde: --type: /],
    ['a missing program', [...range], /^dde: --program: is required$/],
    ['an unknown option', ['--program', '4021', ...range, '--compress'], /^dde: Unknown option '--compress'/],
  ])('refuses %s with a one-line error, exit 2, and writes nothing', async (_what, args, message) => {
    const out = path.join(root, `refused-${Math.random().toString(36).slice(2)}`);
    const r = await dde([...args, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an output directory it cannot write to (a path under a file, or a file)', async () => {
    const file = fileInTheWay();
    for (const out of [path.join(file, 'sub'), file]) {
      const r = await dde(['--program', String(PROGRAM), ...range, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd()).toMatch(/^dde: --out: .* is not a writable directory/);
      expect(readFileSync(file, 'utf8')).toBe('not a directory');
    }
    expect(readdirSync(root).filter((n) => n.startsWith('.dde-write-check'))).toEqual([]);
  });
});
