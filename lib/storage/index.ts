// File storage: the interface (types.ts), the local-directory backend (local.ts), and the
// process's configured storage. Export files live under <DDE_DATA_DIR>/exports by default.
import path from 'node:path';
import { env } from '@/lib/env';
import { LocalStorage } from './local';
import type { Storage } from './types';

export * from './types';
export { LocalStorage } from './local';

let configured: Storage | undefined;

/** The storage export files are written to and served from. */
export function getStorage(): Storage {
  configured ??= new LocalStorage(path.join(env().dataDir, 'exports'));
  return configured;
}

/** Tests and tools point the process at another storage. */
export function setStorage(storage: Storage | undefined): void {
  configured = storage;
}
