// Delivers one run's files to a customer's SFTP folder so that a consumer polling the folder never
// reads a partial file: each file goes to a temporary name, its remote size is checked, then it is
// renamed onto its final name (replacing an earlier copy). Data files first, their .sha256
// sidecars next, the manifest last — the manifest is the completion marker.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { classifyDeliveryError, DeliveryAbortedError, DeliveryError, isDeliveryAborted } from './errors';
import { FINGERPRINT_PATTERN, normalizeFingerprint } from './fingerprint';
import { destinationFolderProblem, normalizeDestinationFolder, remotePathIn } from './folder';
import {
  ConnectStepError,
  FAST_PUT_CHUNK,
  FAST_PUT_CONCURRENCY,
  openSftpSession,
  type SftpAuth,
  type SftpSession,
  type SftpTimeouts,
} from './session';

export type DeliveryFileKind = 'data' | 'sidecar' | 'manifest';

export type DeliveryFile = {
  /** Final name in the destination folder (no slashes). */
  name: string;
  size: number;
  /** Hex SHA-256 of the content (checked against the bytes read when verifySourceChecksum is on). */
  sha256: string;
  /** Inferred from the name when absent: "*.sha256" = sidecar, "*-manifest-*.json" = manifest. */
  kind?: DeliveryFileKind;
  /** A local file: uploaded with ssh2's parallel fastPut. */
  localPath?: string;
  /** Otherwise a stream factory (storage backends without a local path): pipelined writes. */
  open?: () => Readable;
};

export type DeliveryDestination = { host: string; port: number; username: string; folder: string };

export type DeliveryProgress = {
  file: string;
  fileBytes: number;
  fileSize: number;
  /** Bytes acknowledged by the server so far in this delivery, all files together. */
  bytes: number;
  totalBytes: number;
};

export type DeliveredFile = { name: string; remotePath: string; bytes: number; durationMs: number };

export type DeliveryResult = { files: DeliveredFile[]; bytes: number; durationMs: number; hostKeyFingerprint: string };

export type DeliverFilesInput = {
  destination: DeliveryDestination;
  auth: SftpAuth;
  /** The host key fingerprint pinned at set-up ("SHA256:…"). Any other key is refused before anything is sent. */
  pinnedFingerprint: string;
  files: DeliveryFile[];
  signal?: AbortSignal;
  onProgress?: (progress: DeliveryProgress) => void;
  timeouts?: Partial<SftpTimeouts>;
  /**
   * Also hash every file as it is read for upload and refuse to rename it into place when the hash
   * differs from `sha256` (corrupted storage). Off by default: it costs a SHA-256 pass per file on
   * the machine's CPU, and the remote size check plus the customer-side .sha256 already cover transfer faults.
   */
  verifySourceChecksum?: boolean;
};

// Stream uploads: the same requests in flight as our fastPut (see FAST_PUT_CHUNK).
const STREAM_CHUNK = FAST_PUT_CHUNK;
const STREAM_IN_FLIGHT = FAST_PUT_CONCURRENCY;
const CLEANUP_TIMEOUT_MS = 5_000;

export function inferFileKind(name: string): DeliveryFileKind {
  if (name.endsWith('.sha256')) return 'sidecar';
  if (/-manifest-[^/]*\.json$/.test(name)) return 'manifest';
  return 'data';
}

/** Delivery order: data files, then sidecars, then the manifest (stable within each group). */
export function orderForDelivery(files: DeliveryFile[]): DeliveryFile[] {
  const rank: Record<DeliveryFileKind, number> = { data: 0, sidecar: 1, manifest: 2 };
  return files
    .map((f, i) => ({ f, i, r: rank[f.kind ?? inferFileKind(f.name)] }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.f);
}

const BAD_NAME = /[/\\\u0000-\u001f\u007f]/;

function checkInput(input: DeliverFilesInput): void {
  const problem = destinationFolderProblem(input.destination.folder);
  if (problem) throw new DeliveryError('folder_missing', `The destination folder is not valid: ${problem}`, { stage: 'folder' });
  if (!FINGERPRINT_PATTERN.test(normalizeFingerprint(input.pinnedFingerprint ?? ''))) {
    throw new DeliveryError(
      'host_key_mismatch',
      'No valid host key fingerprint is pinned for this connection; run "Test connection" again to pin it.',
      {
        stage: 'handshake',
      },
    );
  }
  const seen = new Set<string>();
  for (const f of input.files) {
    if (!f.name || f.name === '.' || f.name === '..' || BAD_NAME.test(f.name))
      throw new Error(`Invalid export file name: ${JSON.stringify(f.name)}`);
    if (seen.has(f.name)) throw new Error(`Export file ${f.name} is listed twice`);
    seen.add(f.name);
    if (!f.localPath && !f.open) throw new Error(`Export file ${f.name} has neither a local path nor a stream`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`Export file ${f.name} has an invalid size`);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Delivers files in order, each atomically. Throws DeliveryError (classified) or DeliveryAbortedError. */
export async function deliverFiles(input: DeliverFilesInput): Promise<DeliveryResult> {
  checkInput(input);
  const started = performance.now();
  const { destination, signal } = input;
  const folder = normalizeDestinationFolder(destination.folder);
  const files = orderForDelivery(input.files);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);

  let session: SftpSession;
  try {
    session = await openSftpSession({
      host: destination.host,
      port: destination.port,
      username: destination.username,
      auth: input.auth,
      pinnedFingerprint: input.pinnedFingerprint,
      folder,
      timeouts: input.timeouts,
      signal,
    });
  } catch (err) {
    if (err instanceof ConnectStepError) throw err.error;
    throw err;
  }

  const delivered: DeliveredFile[] = [];
  let doneBytes = 0;
  try {
    await checkFolder(session, folder);
    await removeStaleParts(session, folder, files);
    for (const file of files) {
      const fileStarted = performance.now();
      const report = (fileBytes: number) => {
        if (!input.onProgress) return;
        try {
          input.onProgress({ file: file.name, fileBytes, fileSize: file.size, bytes: doneBytes + fileBytes, totalBytes });
        } catch {
          // A progress listener must not break a delivery.
        }
      };
      const remotePath = await deliverOne(session, folder, file, report, input.verifySourceChecksum ?? false);
      doneBytes += file.size;
      delivered.push({ name: file.name, remotePath, bytes: file.size, durationMs: Math.round(performance.now() - fileStarted) });
    }
    return {
      files: delivered,
      bytes: doneBytes,
      durationMs: Math.round(performance.now() - started),
      hostKeyFingerprint: session.fingerprint,
    };
  } finally {
    await session.end();
  }
}

async function checkFolder(session: SftpSession, folder: string): Promise<void> {
  const st = await session.stat(folder, 'folder');
  if (!st.isDirectory) {
    throw new DeliveryError('folder_missing', `The destination "${folder}" exists on the SFTP server but is not a folder.`, {
      stage: 'folder',
    });
  }
}

/**
 * Removes temporary files an interrupted earlier attempt left for these names. Best effort: some
 * servers forbid listing, and a huge folder is only read for a few seconds.
 */
async function removeStaleParts(session: SftpSession, folder: string, files: DeliveryFile[]): Promise<void> {
  let entries: string[];
  try {
    entries = (await session.listNames(folder, { budgetMs: 5_000 })).names;
  } catch (err) {
    if (isDeliveryAborted(err) || !session.isOpen) throw err;
    return;
  }
  const stale = new RegExp(`^\\.(?:${files.map((f) => escapeRegExp(f.name)).join('|')})\\.part-[0-9a-f]+$`);
  for (const entry of entries.filter((e) => stale.test(e))) {
    await session.unlink(remotePathIn(folder, entry)).catch((err) => {
      if (isDeliveryAborted(err) || !session.isOpen) throw err;
    });
  }
}

async function deliverOne(
  session: SftpSession,
  folder: string,
  file: DeliveryFile,
  report: (bytes: number) => void,
  verifyChecksum: boolean,
): Promise<string> {
  const finalPath = remotePathIn(folder, file.name);
  const tempPath = remotePathIn(folder, `.${file.name}.part-${randomBytes(4).toString('hex')}`);
  try {
    report(0);
    const sent = file.localPath
      ? await uploadLocal(session, file, file.localPath, tempPath, report, verifyChecksum)
      : await uploadStream(session, file, tempPath, report, verifyChecksum);
    if (verifyChecksum && sent.sha256 !== file.sha256.toLowerCase()) {
      throw new DeliveryError(
        'unknown',
        `The export file ${file.name} read back from storage does not match its recorded SHA-256; it was not delivered.`,
        {
          stage: 'verify',
        },
      );
    }
    const remote = await session.stat(tempPath, 'verify');
    if (remote.size !== file.size || sent.bytes !== file.size) {
      throw new DeliveryError(
        'unknown',
        `The SFTP server stored ${remote.size} bytes of ${file.name} instead of ${file.size}; the copy was discarded and the attempt will be retried.`,
        { stage: 'verify' },
      );
    }
    await session.replace(tempPath, finalPath);
    return finalPath;
  } catch (err) {
    throw await afterFailure(session, folder, tempPath, err);
  }
}

/** Cleans up after a failed file and returns the error to throw (reclassified with disk facts when useful). */
async function afterFailure(session: SftpSession, folder: string, tempPath: string, err: unknown): Promise<unknown> {
  if (isDeliveryAborted(err) || session.wasAborted) {
    if (session.isOpen) {
      // Stop any running transfer (its channel goes away), then remove the partial copy.
      await session.resetChannel().catch(() => undefined);
      await session.unlink(tempPath, { abortable: false, timeoutMs: CLEANUP_TIMEOUT_MS }).catch(() => undefined);
    }
    return err instanceof DeliveryAbortedError ? err : new DeliveryAbortedError();
  }
  let result = err;
  if (
    session.isOpen &&
    err instanceof DeliveryError &&
    err.cause &&
    (err.stage === 'open' || err.stage === 'write' || err.stage === 'close')
  ) {
    const status = (err.cause as { code?: unknown }).code;
    if (status === 4) {
      const disk = await session.diskFacts(folder);
      if (disk) result = classifyDeliveryError(err.cause, { stage: err.stage, path: tempPath, target: session.target, disk });
    }
  }
  if (session.isOpen) {
    await session.unlink(tempPath, { abortable: false, timeoutMs: CLEANUP_TIMEOUT_MS }).catch(() => undefined);
  }
  return result;
}

async function hashFile(localPath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(localPath, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function uploadLocal(
  session: SftpSession,
  file: DeliveryFile,
  localPath: string,
  tempPath: string,
  report: (bytes: number) => void,
  verifyChecksum: boolean,
): Promise<{ bytes: number; sha256?: string }> {
  let local;
  try {
    local = await stat(localPath);
  } catch {
    throw new DeliveryError('unknown', `The export file ${file.name} is missing from storage; it could not be delivered.`, {
      stage: 'open',
    });
  }
  if (local.size !== file.size) {
    throw new DeliveryError(
      'unknown',
      `The export file ${file.name} in storage has ${local.size} bytes instead of the recorded ${file.size}.`,
      {
        stage: 'verify',
      },
    );
  }
  // Checked before sending, in one sequential pass: hashing alongside fastPut's parallel reads
  // competes with the upload for the same CPU.
  const sha256 = verifyChecksum ? await hashFile(localPath) : undefined;
  if (verifyChecksum && sha256 !== file.sha256.toLowerCase()) return { bytes: 0, sha256 };
  await session.fastPut(localPath, tempPath, file.size, report);
  report(file.size);
  return { bytes: file.size, sha256 };
}

async function uploadStream(
  session: SftpSession,
  file: DeliveryFile,
  tempPath: string,
  report: (bytes: number) => void,
  verifyChecksum: boolean,
): Promise<{ bytes: number; sha256?: string }> {
  let source: Readable;
  try {
    source = file.open!();
  } catch (err) {
    throw new DeliveryError('unknown', `The export file ${file.name} could not be read from storage; the attempt will be retried.`, {
      stage: 'open',
      detail: err instanceof Error ? err.message : String(err),
    });
  }
  const handle = await session.openForWrite(tempPath).catch((err) => {
    source.destroy();
    throw err;
  });
  const hash = verifyChecksum ? createHash('sha256') : undefined;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let position = 0;
  let acked = 0;

  const send = async (chunk: Buffer) => {
    while (inFlight.size >= STREAM_IN_FLIGHT && !failure) await Promise.race(inFlight);
    if (failure) throw failure;
    const at = position;
    position += chunk.length;
    const request: Promise<void> = session.write(handle, chunk, at, tempPath).then(
      () => {
        acked += chunk.length;
        report(acked);
      },
      (err) => {
        failure ??= err;
      },
    );
    const tracked = request.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  try {
    let buffer = Buffer.allocUnsafe(STREAM_CHUNK);
    let filled = 0;
    try {
      for await (const data of source) {
        if (failure) throw failure;
        const bytes = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
        hash?.update(bytes);
        let offset = 0;
        while (offset < bytes.length) {
          const n = Math.min(bytes.length - offset, STREAM_CHUNK - filled);
          bytes.copy(buffer, filled, offset, offset + n);
          filled += n;
          offset += n;
          if (filled === STREAM_CHUNK) {
            await send(buffer);
            buffer = Buffer.allocUnsafe(STREAM_CHUNK);
            filled = 0;
          }
        }
      }
    } catch (err) {
      if (failure || err instanceof DeliveryError || isDeliveryAborted(err)) throw failure ?? err;
      throw new DeliveryError('unknown', `The export file ${file.name} could not be read from storage; the attempt will be retried.`, {
        stage: 'write',
        detail: err instanceof Error ? err.message : String(err),
      });
    }
    if (filled > 0) await send(buffer.subarray(0, filled));
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (failure) throw failure;
  } catch (err) {
    source.destroy();
    await Promise.allSettled([...inFlight]);
    if (session.isOpen && !session.wasAborted)
      await session.closeHandle(handle, tempPath, { abortable: false, timeoutMs: CLEANUP_TIMEOUT_MS }).catch(() => undefined);
    throw err;
  }
  await session.closeHandle(handle, tempPath);
  return { bytes: position, sha256: hash?.digest('hex') };
}
