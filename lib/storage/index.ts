// File storage: the interface (types.ts), the local-directory backend (local.ts), the S3-compatible
// backend (s3.ts), and the process's configured storage (DDE_STORAGE_URL: a folder, by default
// <DDE_DATA_DIR>/exports, or s3://bucket/prefix).
import { env, type StorageConfig } from '@/lib/env';
import { LocalStorage } from './local';
import { S3Storage } from './s3';
import type { Storage } from './types';

export * from './types';
export { LocalStorage } from './local';
export { S3Storage, explainS3Error, type S3StorageConfig } from './s3';

let configured: Storage | undefined;

/** The storage a configuration names. */
export function storageFromConfig(config: StorageConfig): Storage {
  if (config.kind === 'local') return new LocalStorage(config.root);
  return new S3Storage({
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    checksums: config.checksums,
    presign: config.presign,
  });
}

/** The storage export files are written to and served from. */
export function getStorage(): Storage {
  configured ??= storageFromConfig(env().storage);
  return configured;
}

/** Tests and tools point the process at another storage. */
export function setStorage(storage: Storage | undefined): void {
  configured = storage;
}

/**
 * The start-up check of the configured storage (web and jobs call it before serving): an
 * unreachable endpoint, a missing bucket or refused credentials stop start-up with a message that
 * names the variable to fix.
 */
export async function checkStorage(storage: Storage = getStorage()): Promise<void> {
  await storage.check?.();
}
