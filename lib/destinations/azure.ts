// Azure Blob Storage as a destination: block blobs in the customer's container, in the lake layout
// (s3-settings.ts `lakeKey`), the manifest last. A file up to BLOCK_BYTES is one Put Blob; a larger
// one is staged as blocks and committed with one Put Block List — the blob is visible only once
// committed, never half. Either call that makes a blob visible runs inside the attempt's fence.
// Keys are deterministic (a retry overwrites); blocks staged by an interrupted attempt are never
// visible and are discarded by the next commit of that blob (Azure drops uncommitted blocks after
// 7 days anyway). Each blob's metadata carries its sha256. Authentication: the account key or a SAS
// token (encrypted at rest); the token's expiry is read at set-up and the daily check warns before it.
// The outbound policy applies to the endpoint's addresses before any request.
import { blocks, objectContentType } from './objects';
import { createHash, randomBytes } from 'node:crypto';
import dns from 'node:dns';
import { createReadStream } from 'node:fs';
import net from 'node:net';
import { Readable } from 'node:stream';
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import type { Connection } from '@/db/schema';
import type { ConnectionSecret } from '@/lib/crypto';
import { describeDestinationSettings } from '@/lib/describe-connection';
import { DeliveryAbortedError, DeliveryError, type DeliveredFile, type DeliveryErrorCode, type DeliveryFile } from '@/lib/delivery';
import { outboundRefusal, OutboundRefusedError } from '@/lib/net/outbound-policy';
import { azureAccountUrl, azureSettingsSchema, type AzureSettings } from './azure-settings';
import { lakeKey } from './s3-settings';
import type { DestinationTestReport, DestinationTestStep, PushedDestination } from './types';

/** Files up to this size are one Put Blob; larger ones blocks of this size and one Put Block List. */
export const BLOCK_BYTES = 16 * 1024 * 1024;
/** How long before a SAS token's expiry the daily check warns. */
export const SAS_NOTICE_DAYS = 14;

export function azureSettingsOf(c: Pick<Connection, 'destination'>): AzureSettings {
  const parsed = azureSettingsSchema.safeParse(c.destination ?? {});
  if (!parsed.success)
    throw new DeliveryError(
      'unknown',
      `The connection's Azure settings are not valid: ${parsed.error.issues[0]?.message ?? 'unreadable'}.`,
      {
        retryable: false,
      },
    );
  return parsed.data;
}

const where = (s: AzureSettings) => describeDestinationSettings('azure_blob', s);

async function assertEndpointAllowed(s: AzureSettings): Promise<void> {
  const u = new URL(azureAccountUrl(s));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const addresses = net.isIP(host) ? [host] : (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
  for (const a of addresses) {
    const refused = outboundRefusal(a, port);
    if (refused) throw refused;
  }
}

function containerFor(s: AzureSettings, secret: ConnectionSecret | null): ContainerClient {
  const url = azureAccountUrl(s);
  const options = { retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4000 } };
  let service: BlobServiceClient;
  if (s.auth === 'account_key' && secret?.method === 'account_key')
    service = new BlobServiceClient(url, new StorageSharedKeyCredential(s.account, secret.accountKey), options);
  else if (s.auth === 'sas' && secret?.method === 'sas')
    service = new BlobServiceClient(`${url}?${secret.sasToken.replace(/^\?/, '')}`, new AnonymousCredential(), options);
  else
    throw new DeliveryError('auth_failed', 'The connection has no stored account key or SAS token; replace its credentials.', {
      retryable: false,
    });
  return service.getContainerClient(s.container);
}

/** Any error met talking to Azure Blob Storage → a DeliveryError with a fixed code and a message a person can act on. */
export function classifyAzureError(err: unknown, s: AzureSettings, operation: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = (err ?? {}) as { name?: string; code?: string; statusCode?: number; message?: string };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const detail = `${e.code ?? e.name ?? 'Error'}${e.statusCode ? ` ${e.statusCode}` : ''}: ${message}`.slice(0, 300);
  const make = (code: DeliveryErrorCode, text: string, retryable?: boolean) =>
    new DeliveryError(code, text, { detail, cause: err, ...(retryable === undefined ? {} : { retryable }) });
  if (err instanceof OutboundRefusedError)
    return make('refused', `${err.message} (the endpoint ${azureAccountUrl(s)} is not an allowed destination).`, false);
  switch (e.code) {
    case 'ContainerNotFound':
      return make(
        'folder_missing',
        `The container "${s.container}" does not exist in the account ${s.account}. Check its name (or create it).`,
      );
    case 'AuthenticationFailed':
      return make(
        'auth_failed',
        s.auth === 'sas'
          ? `The storage account ${s.account} refused the SAS token (expired, revoked or malformed). Issue a new one and replace the credentials.`
          : `The storage account ${s.account} refused the account key. Check the key (was it rotated?) and that shared key access is allowed, then replace the credentials.`,
      );
    case 'AuthorizationFailure':
    case 'AuthorizationPermissionMismatch':
    case 'AuthorizationResourceTypeMismatch':
      // The account key may do everything: a denial means the key is not the account's (or key access is off).
      if (s.auth === 'account_key')
        return make(
          'auth_failed',
          `The storage account ${s.account} refused the account key. Check the key (was it rotated?) and that shared key access is allowed, then replace the credentials.`,
        );
      return make(
        'permission_denied',
        `${operation} denied on ${where(s)}/ — the ${s.auth === 'sas' ? 'SAS token needs the create, write, read and delete permissions on the container' : 'key may not write there'}.`,
      );
    case 'ServerBusy':
      return make('throttled', `The storage account ${s.account} asked DDE to slow down; the attempt will be retried later.`);
  }
  const network = `${e.code ?? ''} ${message}`;
  if (/ENOTFOUND|EAI_AGAIN/.test(network))
    return make('dns', `The endpoint host of ${azureAccountUrl(s)} could not be resolved (DNS). Check the account name or endpoint.`);
  if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/.test(network))
    return make(
      'refused',
      `${azureAccountUrl(s)} refused the connection (nothing listening there, or a firewall); the attempt will be retried.`,
    );
  if (/ETIMEDOUT|timed? ?out/i.test(network))
    return make('timeout', `${azureAccountUrl(s)} stopped responding during ${operation}; the attempt will be retried.`);
  if (e.statusCode === 404) return make('folder_missing', `${where(s)} was not found. Check the account, container and endpoint.`);
  if (e.statusCode === 403)
    return make('permission_denied', `${operation} denied on ${where(s)}/ (${e.code ?? 'forbidden'}). Check the credentials' permissions.`);
  if (e.statusCode && e.statusCode >= 500)
    return make('unknown', `Azure answered ${e.statusCode} during ${operation}; the attempt will be retried.`, true);
  return make('unknown', `The delivery to ${where(s)} failed during ${operation}: ${detail}`);
}

async function putBlob(
  container: ContainerClient,
  s: AzureSettings,
  key: string,
  file: DeliveryFile,
  ctx: { signal: AbortSignal; fence: <T>(p: () => Promise<T>) => Promise<T>; claim: number; report: (n: number) => void },
  before: ReadonlyMap<string, DeliveredFile>,
): Promise<DeliveredFile> {
  const started = performance.now();
  if (file.encryptTo) throw new DeliveryError('unknown', 'OpenPGP encryption is delivered to SFTP servers only.', { retryable: false });
  const built = file.build ? await file.build(before) : null;
  const source: AsyncIterable<Buffer | string> | null = built
    ? Readable.from([built])
    : file.localPath
      ? createReadStream(file.localPath, { highWaterMark: 1024 * 1024 })
      : (file.open?.() ?? null);
  if (!source) throw new DeliveryError('unknown', `The export file ${file.name} has no content to deliver.`, { retryable: false });
  const blob = container.getBlockBlobClient(key);
  const hash = createHash('sha256');
  const headers = { blobContentType: objectContentType(file.name) };
  const expected = built ? built.length : file.size;
  let operation = 'Put Blob';
  const check = (sha: string, bytes: number) => {
    if (bytes !== expected || (!built && sha !== file.sha256.toLowerCase()))
      throw new DeliveryError(
        'unknown',
        `The export file ${file.name} read from storage does not match its recorded size and SHA-256; it was not delivered.`,
      );
  };
  try {
    const ids: string[] = [];
    const tag = `${ctx.claim}-${randomBytes(3).toString('hex')}`;
    let sent = 0;
    let single: Buffer | null = null;
    for await (const block of blocks(source, BLOCK_BYTES)) {
      hash.update(block);
      if (single === null && ids.length === 0) {
        single = block;
        continue;
      }
      operation = 'Put Block';
      if (single) {
        ids.push(await stage(single));
        single = null;
      }
      ids.push(await stage(block));
    }
    async function stage(b: Buffer): Promise<string> {
      const id = Buffer.from(`${tag}-${String(ids.length).padStart(6, '0')}`).toString('base64');
      await blob.stageBlock(id, b, b.length, { abortSignal: ctx.signal });
      sent += b.length;
      ctx.report(sent);
      return id;
    }
    const sha = hash.digest('hex');
    if (ids.length === 0) {
      const body = single ?? Buffer.alloc(0);
      check(sha, body.length);
      operation = 'Put Blob';
      await ctx.fence(() =>
        blob.upload(body, body.length, { metadata: { sha256: sha }, blobHTTPHeaders: headers, abortSignal: ctx.signal }),
      );
      sent = body.length;
      ctx.report(sent);
    } else {
      check(sha, sent);
      operation = 'Put Block List';
      await ctx.fence(() => blob.commitBlockList(ids, { metadata: { sha256: sha }, blobHTTPHeaders: headers, abortSignal: ctx.signal }));
    }
    return { name: file.name, remotePath: key, bytes: sent, sha256: sha, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (ctx.signal.aborted || (err as { name?: string })?.name === 'AbortError') throw new DeliveryAbortedError();
    if ((err as { name?: string })?.name === 'ClaimLostError') throw err;
    throw classifyAzureError(err, s, operation);
  }
}

const STEP_LABELS = {
  credentials: 'Credentials',
  write: 'Write a test blob',
  read: 'Read it back',
  delete: 'Delete the test blob',
} as const;

export async function testAzure(input: {
  settings: AzureSettings;
  secret: ConnectionSecret | null;
  signal?: AbortSignal;
}): Promise<DestinationTestReport> {
  const s = input.settings;
  const steps: DestinationTestStep[] = Object.entries(STEP_LABELS).map(([step, label]) => ({ step, label, status: 'skipped' as const }));
  const at = (step: keyof typeof STEP_LABELS) => steps.find((x) => x.step === step)!;
  let clock = performance.now();
  const lap = () => {
    const now = performance.now();
    const d = Math.round(now - clock);
    clock = now;
    return d;
  };
  const pass = (step: keyof typeof STEP_LABELS, detail?: string) => Object.assign(at(step), { status: 'ok', durationMs: lap(), detail });
  const fail = (step: keyof typeof STEP_LABELS, err: DeliveryError): DestinationTestReport => {
    Object.assign(at(step), {
      status: 'failed',
      durationMs: lap(),
      error: { code: err.code, retryable: err.retryable, message: err.message },
    });
    return { ok: false, steps, error: at(step).error };
  };
  const warnings: string[] = [];
  let container: ContainerClient;
  try {
    if (s.auth === 'sas' && s.sas_expires_at) {
      const left = Date.parse(s.sas_expires_at) - Date.now();
      if (left <= 0)
        throw new DeliveryError(
          'auth_failed',
          `The SAS token expired at ${s.sas_expires_at}. Issue a new one and replace the credentials.`,
          { retryable: false },
        );
      if (left < SAS_NOTICE_DAYS * 86_400_000)
        warnings.push(
          `The SAS token expires at ${s.sas_expires_at} (in ${Math.ceil(left / 86_400_000)} days): issue a new one and replace the credentials before then.`,
        );
    }
    await assertEndpointAllowed(s);
    container = containerFor(s, input.secret);
    pass('credentials', s.auth === 'sas' ? `SAS token${s.sas_expires_at ? `, expires ${s.sas_expires_at}` : ''}` : 'account key');
  } catch (err) {
    return { ...fail('credentials', classifyAzureError(err, s, 'connect')), warnings };
  }
  const key = `${s.prefix ? `${s.prefix}/` : ''}.dde-write-test-${randomBytes(6).toString('hex')}`;
  const body = Buffer.from('DDE write test. This blob is removed right away.\n');
  const blob = container.getBlockBlobClient(key);
  let written = false;
  try {
    try {
      await blob.upload(body, body.length, { abortSignal: input.signal });
      written = true;
      pass('write', `${where(s)}/${key.split('/').pop()}`);
    } catch (err) {
      return { ...fail('write', classifyAzureError(err, s, 'Put Blob')), warnings };
    }
    try {
      const back = await blob.downloadToBuffer(0, undefined, { abortSignal: input.signal });
      if (!back.equals(body))
        throw new DeliveryError('unknown', 'The test blob read back differs from what was written.', { retryable: false });
      pass('read');
    } catch (err) {
      return { ...fail('read', classifyAzureError(err, s, 'Get Blob')), warnings };
    }
    try {
      await blob.delete({ abortSignal: input.signal });
      written = false;
      pass('delete');
    } catch (err) {
      return { ...fail('delete', classifyAzureError(err, s, 'Delete Blob')), warnings };
    }
    return { ok: true, steps, ...(warnings.length ? { warnings } : {}) };
  } finally {
    if (written) await blob.delete().catch(() => undefined);
  }
}

export function azureDestination(): PushedDestination {
  return {
    kind: 'azure_blob',
    pushes: true,
    secretLabel: 'account key or SAS token',
    describe: (c) => describeDestinationSettings('azure_blob', c.destination),
    activeEmail(c) {
      const s = azureSettingsOf(c);
      return {
        service: 'Azure Blob Storage',
        signIn:
          s.auth === 'sas'
            ? `a SAS token (stored encrypted)${s.sas_expires_at ? `, which expires at ${s.sas_expires_at}` : ''}`
            : 'the storage account key (stored encrypted)',
        layoutExample: lakeKey(s.prefix, { exportType: 'incremental', windowStart: c.startDate }, { name: '<file>', fileType: 'activity' }),
      };
    },
    expiringCredential(c) {
      const s = azureSettingsOf(c);
      return s.auth === 'sas' && s.sas_expires_at
        ? { credential: 'SAS token', expiresAt: new Date(s.sas_expires_at), noticeDays: SAS_NOTICE_DAYS }
        : null;
    },
    test: ({ connection, secret, signal }) => testAzure({ settings: azureSettingsOf(connection), secret, signal }),
    async check({ connection, secret, signal }) {
      let report: DestinationTestReport;
      try {
        report = await testAzure({ settings: azureSettingsOf(connection), secret, signal });
      } catch (err) {
        if (err instanceof DeliveryError) return { ok: false, code: err.code, message: err.message };
        throw err;
      }
      if (report.ok) return { ok: true, ...(report.warnings ? { warnings: report.warnings } : {}) };
      return {
        ok: false,
        code: report.error?.code ?? 'unknown',
        message: report.error?.message ?? 'The test failed.',
        warnings: report.warnings,
      };
    },
    async deliver(input) {
      const started = performance.now();
      const s = azureSettingsOf(input.connection);
      try {
        await assertEndpointAllowed(s);
      } catch (err) {
        throw classifyAzureError(err, s, 'connect');
      }
      const container = containerFor(s, input.secret);
      const totalBytes = input.files.reduce((n, f) => n + f.size, 0);
      const ordered = [
        ...input.files.filter((f) => f.kind === 'data'),
        ...input.files.filter((f) => f.kind === 'sidecar'),
        ...input.files.filter((f) => f.kind !== 'data' && f.kind !== 'sidecar'),
      ];
      const delivered: DeliveredFile[] = [];
      const byName = new Map<string, DeliveredFile>();
      let done = 0;
      for (const file of ordered) {
        if (input.signal.aborted) throw new DeliveryAbortedError();
        const base = done;
        const report = (bytes: number) => {
          try {
            input.onProgress?.({ file: file.name, fileBytes: bytes, fileSize: file.size, bytes: base + bytes, totalBytes });
          } catch {
            // A progress listener must not break a delivery.
          }
        };
        const d = await putBlob(
          container,
          s,
          lakeKey(s.prefix, input.run, file),
          file,
          { signal: input.signal, fence: input.fence, claim: input.run.claim, report },
          byName,
        );
        done += d.bytes;
        delivered.push(d);
        byName.set(d.name, d);
      }
      return { files: delivered, bytes: done, durationMs: Math.round(performance.now() - started) };
    },
    classify: (err) =>
      err instanceof DeliveryError
        ? err
        : new DeliveryError('unknown', `The delivery to Azure Blob Storage failed: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          }),
  };
}
