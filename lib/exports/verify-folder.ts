// `dde verify DIR`: what a receiver can prove about a folder of export files (an SFTP delivery, a
// bucket sync, `dde pull`) with nothing but the files and the published signing keys:
//   - every manifest's detached signature (`<manifest>.sig`) verifies against a published key;
//   - every file a manifest lists is there, with its bytes, sha256 and (read back) row count
//     (csv.gz, jsonl.gz, xlsx, parquet);
//   - each sequence (per connection and export type; per historical request) has no missing
//     number and no window twice, and each manifest's previous_window_end meets the window before;
//   - no event id is in two files; no data file lies there that no manifest lists.
// OpenPGP-encrypted files (`.pgp`) are checked by their delivered bytes; with `gpgHome` (a GnuPG
// home holding the customer's secret key) each is also decrypted by `gpg` into a private temporary
// folder, and its plaintext checked like any file: sha256 and bytes (the manifest's plaintext_*),
// rows read back, event ids.
// No database: this runs on the customer's side.
import { execFile } from 'node:child_process';
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import ExcelJS from 'exceljs';
import { SIGNATURE_SUFFIX, verifyManifestSignature } from './signing';

const MANIFEST_NAME = /-manifest-(incremental|historical)\.json$/;

export type ManifestReport = {
  /** Path relative to the folder. */
  path: string;
  sequence: number | null;
  sequenceKey: string;
  window: { start: string; end: string } | null;
  files: number;
  rows: number;
  signature: string;
  problems: string[];
};

export type FolderReport = {
  manifests: ManifestReport[];
  /** Problems of the folder as a whole: gaps, windows twice, events in two files, unlisted files. */
  problems: string[];
  ok: boolean;
};

type ManifestFile = {
  name: string;
  type: string;
  format: string;
  rows: number;
  bytes: number;
  sha256: string;
  encryption?: string;
  plaintext_sha256?: string;
  plaintext_bytes?: number;
};
type Manifest = {
  connection_id?: string | null;
  export_type?: string;
  sequence?: number | null;
  historical_request_id?: string | null;
  window?: { start: string; end: string };
  previous_window_end?: string | null;
  files?: ManifestFile[];
};

/** Every regular file below `dir` (hidden files and temporaries left out), relative paths. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = rel ? path.join(rel, e.name) : e.name;
    if (e.isDirectory()) out.push(...walk(dir, p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The records of a CSV stream (RFC 4180: quoted fields may hold commas, quotes and line ends). */
async function* csvRecords(input: Readable): AsyncGenerator<string[]> {
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let afterQuote = false;
  let any = false;
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      any = true;
      if (quoted) {
        if (c === '"') {
          quoted = false;
          afterQuote = true;
        } else field += c;
        continue;
      }
      if (c === '"') {
        if (afterQuote) field += '"'; // a doubled quote inside a quoted field
        quoted = true;
        afterQuote = false;
        continue;
      }
      afterQuote = false;
      if (c === ',') {
        record.push(field);
        field = '';
      } else if (c === '\n') {
        record.push(field);
        yield record;
        record = [];
        field = '';
        any = false;
      } else if (c !== '\r') field += c;
    }
  }
  if (any) {
    record.push(field);
    yield record;
  }
}

/** Rows (header excluded) and the Event ID of each row that has one, read back from a data file. */
async function readRows(file: string, format: string): Promise<{ rows: number; eventIds: string[] }> {
  const eventIds: string[] = [];
  let rows = 0;
  if (format === 'csv') {
    let idColumn = -1;
    let header = true;
    for await (const r of csvRecords(createReadStream(file).pipe(createGunzip()))) {
      if (header) {
        idColumn = r.indexOf('Event ID');
        header = false;
        continue;
      }
      rows++;
      if (idColumn >= 0 && r[idColumn]) eventIds.push(r[idColumn]);
    }
  } else if (format === 'jsonl') {
    const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      rows++;
      const id = (JSON.parse(line) as Record<string, unknown>)['Event ID'];
      if (id !== undefined && id !== null && id !== '') eventIds.push(String(id));
    }
  } else if (format === 'xlsx') {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(createReadStream(file), { worksheets: 'emit', sharedStrings: 'cache' });
    for await (const sheet of reader) {
      let idColumn = -1;
      let header = true;
      for await (const row of sheet) {
        const values = (row.values as unknown[]).slice(1).map((v) => (v === null || v === undefined ? '' : String(v)));
        if (header) {
          idColumn = values.indexOf('Event ID');
          header = false;
          continue;
        }
        rows++;
        if (idColumn >= 0 && values[idColumn]) eventIds.push(values[idColumn]);
      }
    }
  } else if (format === 'parquet') {
    // The whole file at once (a Parquet part is bounded in rows); event ids from the event_id column.
    const [pw, arrow] = await Promise.all([import('parquet-wasm/node'), import('apache-arrow')]);
    const table = arrow.tableFromIPC(pw.readParquet(readFileSync(file)).intoIPCStream());
    rows = table.numRows;
    const ids = table.getChild('event_id');
    if (ids) for (const v of ids) if (v !== null && v !== undefined && v !== '') eventIds.push(String(v));
  } else {
    throw new Error(`format ${format} cannot be read back here`);
  }
  return { rows, eventIds };
}

/** Decrypts `file` with the secret keys in `gpgHome` into `out`; throws with gpg's own reason. */
function gpgDecrypt(gpgHome: string, file: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'gpg',
      ['--homedir', gpgHome, '--batch', '--yes', '--no-tty', '--quiet', '--pinentry-mode', 'loopback', '--output', out, '--decrypt', file],
      { timeout: 600_000, maxBuffer: 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const reason =
          String(stderr)
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
            .pop() ?? (err as Error).message;
        reject(new Error(reason));
      },
    );
  });
}

const sequenceKeyOf = (m: Manifest) =>
  m.export_type === 'historical'
    ? `historical request ${m.historical_request_id ?? '?'} of connection ${m.connection_id ?? '?'}`
    : `${m.export_type ?? '?'} windows of connection ${m.connection_id ?? '?'}`;

/**
 * Checks the folder against its manifests, their signatures (`keys`) and their sequences; with
 * `gpgHome`, the plaintext of encrypted files too.
 */
export async function verifyFolder(dir: string, keys: Map<string, KeyObject>, opts: { gpgHome?: string } = {}): Promise<FolderReport> {
  const all = walk(dir).sort();
  const scratch = opts.gpgHome ? mkdtempSync(path.join(os.tmpdir(), 'dde-verify-')) : null;
  try {
    return await verifyWith(dir, all, keys, scratch ? { gpgHome: opts.gpgHome!, scratch } : null);
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

async function verifyWith(
  dir: string,
  all: string[],
  keys: Map<string, KeyObject>,
  pgp: { gpgHome: string; scratch: string } | null,
): Promise<FolderReport> {
  const manifestPaths = all.filter((p) => MANIFEST_NAME.test(p));
  const listed = new Set<string>();
  const reports: (ManifestReport & { manifest: Manifest | null })[] = [];
  const eventFiles = new Map<string, string>(); // event id → the first file it was seen in
  const twice = new Map<string, Set<string>>(); // event id → files

  for (const rel of manifestPaths) {
    const problems: string[] = [];
    const bytes = readFileSync(path.join(dir, rel));
    let manifest: Manifest | null = null;
    try {
      manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
    } catch {
      problems.push('the manifest is not JSON');
    }
    const sigPath = path.join(dir, rel + SIGNATURE_SUFFIX);
    listed.add(rel + SIGNATURE_SUFFIX);
    let sigText: string | null = null;
    try {
      sigText = readFileSync(sigPath, 'utf8');
    } catch {
      sigText = null;
    }
    const sig = verifyManifestSignature(bytes, sigText, keys);
    if (!sig.ok) problems.push(`signature: ${sig.problem}`);
    const folder = path.dirname(rel);
    let rows = 0;
    for (const f of manifest?.files ?? []) {
      const fileRel = folder === '.' ? f.name : path.join(folder, f.name);
      listed.add(fileRel);
      listed.add(`${fileRel}.sha256`);
      const full = path.join(dir, fileRel);
      let size: number;
      try {
        size = statSync(full).size;
      } catch {
        problems.push(`${f.name}: missing`);
        continue;
      }
      if (size !== f.bytes) problems.push(`${f.name}: ${size} bytes, the manifest says ${f.bytes}`);
      const digest = await sha256Of(full);
      if (digest !== f.sha256) {
        problems.push(`${f.name}: sha256 ${digest.slice(0, 12)}… differs from the manifest's ${String(f.sha256).slice(0, 12)}…`);
        continue;
      }
      rows += f.rows;
      let readable = full;
      if (f.encryption) {
        if (!pgp) continue; // encrypted, no key given: the delivered bytes are what can be checked
        readable = path.join(pgp.scratch, 'plaintext');
        try {
          await gpgDecrypt(pgp.gpgHome, full, readable);
        } catch (err) {
          problems.push(`${f.name}: could not be decrypted with the keys in --gpg-home (${(err as Error).message})`);
          continue;
        }
        const plainSize = statSync(readable).size;
        if (f.plaintext_bytes !== undefined && plainSize !== f.plaintext_bytes)
          problems.push(`${f.name}: decrypted, ${plainSize} bytes, the manifest says ${f.plaintext_bytes}`);
        const plainDigest = await sha256Of(readable);
        if (f.plaintext_sha256 !== undefined && plainDigest !== f.plaintext_sha256) {
          problems.push(
            `${f.name}: decrypted, sha256 ${plainDigest.slice(0, 12)}… differs from the manifest's plaintext_sha256 ${String(f.plaintext_sha256).slice(0, 12)}…`,
          );
          continue;
        }
      }
      try {
        const read = await readRows(readable, f.format);
        if (read.rows !== f.rows) problems.push(`${f.name}: ${read.rows} rows, the manifest says ${f.rows}`);
        for (const id of read.eventIds) {
          const first = eventFiles.get(id);
          if (first === undefined) eventFiles.set(id, fileRel);
          else if (first !== fileRel) twice.set(id, (twice.get(id) ?? new Set([first])).add(fileRel));
        }
      } catch (err) {
        problems.push(`${f.name}: could not be read as ${f.format} (${(err as Error).message})`);
      }
    }
    reports.push({
      path: rel,
      manifest,
      sequence: typeof manifest?.sequence === 'number' ? manifest.sequence : null,
      sequenceKey: manifest ? sequenceKeyOf(manifest) : '?',
      window: manifest?.window ?? null,
      files: manifest?.files?.length ?? 0,
      rows,
      signature: sig.ok ? `ok (${sig.kid})` : 'FAILED',
      problems,
    });
  }

  const problems: string[] = [];
  // Sequences: per connection and export type, per historical request.
  const groups = new Map<string, typeof reports>();
  for (const r of reports) if (r.manifest) groups.set(r.sequenceKey, [...(groups.get(r.sequenceKey) ?? []), r]);
  for (const [key, group] of groups) {
    const bySequence = new Map<number, typeof reports>();
    for (const r of group) {
      if (r.sequence === null) {
        r.problems.push('no sequence number');
        continue;
      }
      bySequence.set(r.sequence, [...(bySequence.get(r.sequence) ?? []), r]);
    }
    const numbers = [...bySequence.keys()].sort((a, b) => a - b);
    if (numbers.length === 0) continue;
    const last = numbers[numbers.length - 1];
    // A folder may start later than 1 (files collected since then): gaps count from the first held.
    for (let n = numbers[0]; n <= last; n++) {
      const held = bySequence.get(n);
      if (!held) {
        const before = bySequence.get(n - 1)?.[0]?.window?.end;
        const after = bySequence.get(n + 1)?.[0]?.manifest?.previous_window_end;
        const window = before ? `, the window from ${before}` : after ? `, the window ending ${after}` : '';
        problems.push(`missing window: sequence ${n} of the ${key}${window}`);
        continue;
      }
      if (held.length > 1) problems.push(`window delivered twice: sequence ${n} of the ${key} (${held.map((r) => r.path).join(', ')})`);
      const previous = bySequence.get(n - 1)?.[0];
      const prevEnd = held[0].manifest?.previous_window_end ?? null;
      if (previous?.window && prevEnd !== previous.window.end)
        held[0].problems.push(
          `previous_window_end ${prevEnd ?? 'null'} does not meet the end of sequence ${n - 1} (${previous.window.end})`,
        );
    }
  }
  for (const [id, files] of [...twice].slice(0, 20)) problems.push(`event ${id} is in ${files.size} files: ${[...files].join(', ')}`);
  if (twice.size > 20) problems.push(`… and ${twice.size - 20} more events in two files`);
  for (const rel of all) {
    if (listed.has(rel) || MANIFEST_NAME.test(rel)) continue;
    if (/\.(gz|xlsx|parquet|pgp)$/.test(rel)) problems.push(`${rel}: a data file no manifest lists`);
  }
  if (manifestPaths.length === 0) problems.push('no manifest in the folder');

  const manifests = reports.map(({ manifest: _m, ...r }) => r);
  return { manifests, problems, ok: problems.length === 0 && manifests.every((m) => m.problems.length === 0) };
}
