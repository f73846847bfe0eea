// dde verify DIR: checks a folder of export files (an SFTP delivery, a bucket sync, `dde pull`)
// against its signed manifests; exit 0 only when everything holds (lib/exports/verify-folder.ts).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { keysFromJwks } from '@/lib/exports/signing';
import { verifyFolder } from '@/lib/exports/verify-folder';
import { CliError, parseCommand } from './args';
import { table } from './output';

export const summary = 'Verify a folder of export files: signatures, checksums, rows, no window missing';
export const usage = `Usage: dde verify DIR --keys URL|FILE [--gpg-home DIR]

Checks every manifest in DIR (and its subfolders):
  - its signature (<manifest>.sig) against the published keys;
  - every file it lists: present, bytes, sha256, and the rows read back (csv.gz, jsonl.gz, xlsx, parquet;
    OpenPGP-encrypted files by their delivered bytes, and with --gpg-home by their plaintext too);
  - the sequence: names each missing window and each window delivered twice;
  - that no event id is in two files, and no data file lies there that no manifest lists.
Prints a table; exits 0 only when all of it holds, 1 when anything does not.

Options:
  --keys URL|FILE   the signing keys (JWKS): https://<dde>/api/v1/signing-keys, or a saved copy
  --gpg-home DIR    a GnuPG home holding the secret key the files are encrypted to: each .pgp file is
                    decrypted with gpg (into a private temporary folder, removed after) and its
                    plaintext checked against the manifest's plaintext_sha256 and plaintext_bytes,
                    its rows read back and its event ids counted`;

async function loadKeys(source: string): Promise<unknown> {
  if (/^https?:\/\//i.test(source)) {
    let res: Response;
    try {
      res = await fetch(source, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new CliError(`--keys: could not fetch ${source}: ${(err as Error).message}`);
    }
    if (!res.ok) throw new CliError(`--keys: ${source} answered ${res.status}`);
    return res.json().catch(() => {
      throw new CliError(`--keys: ${source} did not answer JSON`);
    });
  }
  try {
    return JSON.parse(readFileSync(source, 'utf8'));
  } catch (err) {
    throw new CliError(`--keys: cannot read ${source} as JSON (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    { keys: { type: 'string' }, 'gpg-home': { type: 'string' } },
    z.object({
      keys: z.string({ error: 'is required: the signing keys URL (/api/v1/signing-keys) or a JWKS file' }).min(1),
      'gpg-home': z.string().min(1, 'must name a GnuPG home folder').optional(),
    }),
  );
  if (positionals.length !== 1) throw new CliError(positionals.length ? `one folder only, got ${positionals.length}` : 'DIR is required');
  const dir = path.resolve(positionals[0]);
  try {
    if (!statSync(dir).isDirectory()) throw new CliError(`DIR: ${positionals[0]} is not a folder`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`DIR: ${positionals[0]} does not exist`);
  }
  let keys;
  try {
    keys = keysFromJwks(await loadKeys(values.keys));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`--keys: ${(err as Error).message}`);
  }
  if (keys.size === 0) throw new CliError('--keys: the document holds no Ed25519 key');

  const gpgHome = values['gpg-home'] === undefined ? undefined : path.resolve(values['gpg-home']);
  if (gpgHome !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(gpgHome).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new CliError(`--gpg-home: ${values['gpg-home']} is not a folder`);
  }
  const report = await verifyFolder(dir, keys, { gpgHome });
  if (report.manifests.length) {
    console.log(
      table([
        ['SEQ', 'WINDOW', 'FILES', 'ROWS', 'SIGNATURE', 'CHECK', 'MANIFEST'],
        ...report.manifests
          .sort(
            (a, b) => a.sequenceKey.localeCompare(b.sequenceKey) || (a.sequence ?? 0) - (b.sequence ?? 0) || a.path.localeCompare(b.path),
          )
          .map((m) => [
            m.sequence === null ? '-' : String(m.sequence),
            m.window ? `${m.window.start} → ${m.window.end}` : '-',
            String(m.files),
            m.rows.toLocaleString('en-US'),
            m.signature,
            m.problems.length ? 'FAILED' : 'ok',
            m.path,
          ]),
      ]),
    );
  }
  const problems = [...report.manifests.flatMap((m) => m.problems.map((p) => `${m.path}: ${p}`)), ...report.problems];
  if (problems.length) {
    console.log('');
    for (const p of problems) console.log(`FAILED  ${p}`);
  }
  const rows = report.manifests.reduce((n, m) => n + m.rows, 0);
  console.log(
    `\n${report.manifests.length} manifest${report.manifests.length === 1 ? '' : 's'}, ${rows.toLocaleString('en-US')} rows: ` +
      (report.ok ? 'everything verified.' : `${problems.length} problem${problems.length === 1 ? '' : 's'}.`),
  );
  if (!report.ok) process.exitCode = 1;
}
