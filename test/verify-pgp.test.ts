// `dde verify --gpg-home` on an OpenPGP-encrypted folder, with Debian's gnupg playing the customer:
// files encrypted by DDE's delivery code to the customer's key, the delivered manifest as a delivery
// writes it (pgpManifest) and signed. Without a key, verify checks the delivered bytes only; with the
// customer's GnuPG home it decrypts each file and checks the plaintext too (sha256, bytes, rows,
// event ids), so a window whose plaintext lacks rows, or repeats an event of another window, is
// named — which the delivered bytes alone cannot show. A home without the secret key is named too.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptForDelivery, pgpManifest, type PgpDigests } from '@/lib/delivery/pgp';
import { manifestBytes } from '@/lib/exports/manifest';

let dir: string;
let home: string;
let emptyHome: string;
let armoredPublic: string;
let fingerprint: string;
let jwksFile: string;
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const KID = 'ed25519-test-verify-pgp';

const gpg = (h: string, args: string[]) => execFileSync('gpg', ['--homedir', h, '--batch', '--yes', '--no-tty', ...args]);

function dde(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const csvGz = (ids: number[]) => gzipSync(Buffer.from(`Event ID,Event Type\n${ids.map((i) => `${i},open\n`).join('')}`));
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * One window delivered encrypted into `folder`: its activity file holds `ids`, the manifest says
 * `rows` (the files' rows when not given) and lists the plaintext's digests as the export did.
 */
async function deliverWindow(folder: string, sequence: number, ids: number[], rows = ids.length) {
  const start = Date.UTC(2026, 10, 19) + (sequence - 1) * 4 * HOUR;
  const hh = String(new Date(start).getUTCHours()).padStart(2, '0');
  const name = `9-11-19-2026-${hh}-activity-incremental.csv.gz`;
  const plain = csvGz(ids);
  const stored = manifestBytes({
    schema_version: 1,
    program_id: 9,
    connection_id: '00000000-0000-4000-8000-000000000009',
    run_id: `00000000-0000-4000-8000-00000000000${sequence}`,
    export_type: 'incremental',
    sequence,
    historical_request_id: null,
    window: { start: iso(start), end: iso(start + 4 * HOUR) },
    previous_window_end: sequence === 1 ? null : iso(start),
    generated_at: iso(start + 5 * HOUR),
    rows,
    files: [
      {
        name,
        type: 'activity',
        format: 'csv',
        compression: 'gzip',
        rows,
        bytes: plain.length,
        sha256: createHash('sha256').update(plain).digest('hex'),
      },
    ],
  });
  const { name: delivered, stream, digests } = await encryptForDelivery({ name, stream: Readable.from([plain]) }, armoredPublic);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  writeFileSync(path.join(folder, delivered), Buffer.concat(chunks));
  const d = (await digests) as PgpDigests;
  writeFileSync(path.join(folder, `${delivered}.sha256`), `${d.deliveredSha256}  ${delivered}\n`);
  const manifest = pgpManifest(stored, (n) => (n === delivered ? d : undefined), fingerprint);
  const mName = `9-11-19-2026-${hh}-manifest-incremental.json`;
  writeFileSync(path.join(folder, mName), manifest);
  const signature = sign(null, manifest, privateKey).toString('base64url');
  writeFileSync(path.join(folder, `${mName}.sig`), `${JSON.stringify({ alg: 'EdDSA', kid: KID, signature })}\n`);
}

function newFolder(name: string): string {
  const folder = path.join(dir, name);
  mkdirSync(folder);
  return folder;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dde-verify-pgp-'));
  home = path.join(dir, 'gnupg');
  emptyHome = path.join(dir, 'gnupg-empty');
  execFileSync('mkdir', ['-m', '700', home, emptyHome]);
  gpg(
    home,
    ['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Acme Data Team <data@acme.example>'].concat([
      'future-default',
      'default',
      'never',
    ]),
  );
  armoredPublic = gpg(home, ['--armor', '--export', 'data@acme.example']).toString('utf8');
  fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(home, ['--with-colons', '--fingerprint', 'data@acme.example']).toString('utf8'))![1];
  jwksFile = path.join(dir, 'keys.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'EdDSA', use: 'sig' }] }));
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dde verify on an OpenPGP-encrypted folder', () => {
  it('passes on a good folder, by the delivered bytes alone and with the customer’s key by the plaintext too', async () => {
    const folder = newFolder('good');
    await deliverWindow(folder, 1, [1, 2, 3]);
    await deliverWindow(folder, 2, [4, 5]);
    for (const extra of [[], ['--gpg-home', home]]) {
      const r = await dde(['verify', folder, '--keys', jwksFile, ...extra]);
      console.log(`dde verify ${extra.join(' ')} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\n2 manifests, 5 rows: everything verified\.\n$/);
    }
  });

  it('with --gpg-home names a plaintext short of rows and an event in two windows, which the delivered bytes cannot show', async () => {
    const folder = newFolder('tampered');
    await deliverWindow(folder, 1, [1, 2, 3]);
    // The second window's plaintext holds one row, event 3 again, while its manifest says 2 rows.
    await deliverWindow(folder, 2, [3], 2);
    const bytesOnly = await dde(['verify', folder, '--keys', jwksFile]);
    expect(bytesOnly.code).toBe(0);
    const r = await dde(['verify', folder, '--keys', jwksFile, '--gpg-home', home]);
    console.log(`dde verify --gpg-home on a tampered folder (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'FAILED  9-11-19-2026-04-manifest-incremental.json: 9-11-19-2026-04-activity-incremental.csv.gz.pgp: 1 rows, the manifest says 2',
    );
    expect(r.stdout).toContain(
      'FAILED  event 3 is in 2 files: 9-11-19-2026-00-activity-incremental.csv.gz.pgp, 9-11-19-2026-04-activity-incremental.csv.gz.pgp',
    );
    expect(r.stdout).toMatch(/\n2 manifests, 5 rows: 2 problems\.\n$/);
  });

  it('names each file a GnuPG home without the secret key cannot decrypt, and refuses a home that is no folder', async () => {
    const folder = newFolder('no-key');
    await deliverWindow(folder, 1, [7, 8]);
    const r = await dde(['verify', folder, '--keys', jwksFile, '--gpg-home', emptyHome]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAILED {2}9-11-19-2026-00-manifest-incremental\.json: 9-11-19-2026-00-activity-incremental\.csv\.gz\.pgp: could not be decrypted with the keys in --gpg-home \(gpg: decryption failed: No secret key\)/,
    );
    const missing = await dde(['verify', folder, '--keys', jwksFile, '--gpg-home', path.join(dir, 'nowhere')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--gpg-home: ');
    expect(missing.stderr).toContain('is not a folder');
  });
});
