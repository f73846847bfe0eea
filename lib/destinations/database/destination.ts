// PostgreSQL and MySQL/MariaDB as destinations on the seam (lib/destinations/types.ts): a run is
// "delivered" when each of its data files is loaded into the customer's tables, each in one
// transaction with its `_dde_loads` row, committed under the run's fence. The run's manifest (the
// completion marker, read from the files handed to deliver) says each data file's type, rows and
// checksum; the bytes come from storage and are verified as they stream. Settings live in
// connections.destination (databaseSettingsSchema), the password in secret_ciphertext.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Connection } from '@/db/schema';
import type { ConnectionSecret } from '@/lib/crypto';
import { DeliveryError, type DeliveryErrorCode, type DeliveryFile, type StepError } from '@/lib/delivery';
import type { DataFileType } from '@/lib/exports/columns';
import type { DestinationTestReport, PushedDestination } from '@/lib/destinations/types';
import { LoadError, type LoadErrorCode } from './errors';
import { loadRun } from './load';
import { databaseSettingsSchema, describeDatabaseDestination, type DatabaseSettings } from './settings';
import { testDatabaseDestination } from './setup-test';
import type { LoadFile } from './source';

export type DatabaseKind = 'postgres' | 'mysql';

/** A saved connection's database settings (what its set-up stored in connections.destination). */
export function databaseSettingsOf(c: Pick<Connection, 'destination' | 'kind'>): DatabaseSettings {
  return databaseSettingsSchema.parse({ ...(c.destination ?? {}), engine: c.kind });
}

function passwordOf(secret: ConnectionSecret | null): string {
  if (secret?.method === 'password') return secret.password;
  throw new DeliveryError('auth_failed', 'The stored database credential is not a password; replace the credentials.');
}

const CODES: Record<LoadErrorCode, DeliveryErrorCode> = {
  connect: 'refused',
  auth: 'auth_failed',
  not_found: 'folder_missing',
  privilege: 'permission_denied',
  incompatible: 'unknown',
  busy: 'timeout',
  interrupted: 'unknown',
  refused: 'refused',
  data: 'unknown',
  unknown: 'unknown',
};

/** A load's failure as the event history records it: a fixed code, retryable or not, the message with its fix. */
export function classifyLoadError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof LoadError) return new DeliveryError(CODES[err.code], err.message, { retryable: err.retryable, detail: err.code });
  return new DeliveryError('unknown', `The load failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

const stepError = (e: LoadError): StepError => {
  const d = classifyLoadError(e);
  return { code: d.code, retryable: d.retryable, message: d.message };
};

export async function testDatabase(settings: DatabaseSettings, password: string): Promise<DestinationTestReport> {
  const report = await testDatabaseDestination(settings, password);
  return {
    ok: report.ok,
    steps: report.steps.map((s) => ({
      step: s.step,
      label: s.label,
      status: s.status,
      ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
      ...(s.detail ? { detail: s.detail } : {}),
      ...(s.error ? { error: stepError(s.error) } : {}),
    })),
    ...(report.error ? { error: stepError(report.error) } : {}),
  };
}

type ManifestFile = { name: string; type: DataFileType; format: string; compression: string; rows: number; bytes: number; sha256: string };

function streamOf(f: DeliveryFile): Readable {
  if (f.localPath) return createReadStream(f.localPath, { highWaterMark: 1 << 20 });
  if (f.open) return f.open();
  throw new DeliveryError('unknown', `${f.name} has no stored bytes to load`);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

export function databaseDestination(kind: DatabaseKind): PushedDestination {
  return {
    kind,
    pushes: true,
    secretLabel: 'password',
    describe: (c) => {
      try {
        return describeDatabaseDestination(databaseSettingsOf(c));
      } catch {
        return `${kind}://`;
      }
    },
    test: ({ connection, secret }) => testDatabase(databaseSettingsOf(connection), passwordOf(secret)),
    async check({ connection, secret }) {
      const report = await testDatabase(databaseSettingsOf(connection), passwordOf(secret));
      if (report.ok) return { ok: true };
      return { ok: false, code: report.error?.code ?? 'unknown', message: report.error?.message ?? 'The test failed.' };
    },
    async deliver(input) {
      const started = Date.now();
      if (input.files.some((f) => f.encryptTo))
        throw new DeliveryError('unknown', 'A database destination loads the files as they are; it cannot take OpenPGP-encrypted files.', {
          retryable: false,
        });
      const manifestFile = input.files.find((f) => f.kind === 'manifest');
      if (!manifestFile) throw new DeliveryError('unknown', 'The run has no manifest; nothing was loaded.', { retryable: false });
      const manifest = JSON.parse((await readAll(streamOf(manifestFile))).toString('utf8')) as { files: ManifestFile[] };
      const byName = new Map(input.files.map((f) => [f.name, f]));
      const files: LoadFile[] = manifest.files.map((m) => ({
        fileType: m.type,
        name: m.name,
        storageKey: m.name,
        rows: m.rows,
        bytes: m.bytes,
        sha256: m.sha256,
        format: m.format,
        compression: m.compression,
      }));
      const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
      let bytesDone = 0;
      const result = await loadRun({
        settings: databaseSettingsOf(input.connection),
        password: passwordOf(input.secret),
        window: {
          connectionId: input.connection.id,
          runId: input.run.id,
          exportType: input.run.exportType,
          windowStart: input.run.windowStart,
          windowEnd: input.run.windowEnd,
        },
        files,
        manifest: { name: manifestFile.name, sha256: manifestFile.sha256 },
        open: async (name) => {
          const f = byName.get(name);
          if (!f) throw new LoadError('data', `${name} is listed in the manifest but not among the run's files`);
          return streamOf(f);
        },
        signal: input.signal,
        fence: input.fence,
        onFile: (loaded) => {
          const f = files.find((x) => x.fileType === loaded.fileType)!;
          bytesDone += f.bytes;
          input.onProgress?.({ file: f.name, fileBytes: f.bytes, fileSize: f.bytes, bytes: bytesDone, totalBytes });
        },
      });
      return {
        files: result.files.map((l) => {
          const f = files.find((x) => x.fileType === l.fileType)!;
          return { name: f.name, remotePath: l.table, bytes: f.bytes, durationMs: 0, sha256: f.sha256 };
        }),
        bytes: totalBytes,
        durationMs: Date.now() - started,
      };
    },
    classify: classifyLoadError,
  };
}
