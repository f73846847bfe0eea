// The file storage interface every backend implements (a local directory, or an S3-compatible bucket),
// and the rules for keys. Keys are relative, '/'-separated paths; a key can never climb out of
// the storage root.
import type { Readable } from 'node:stream';

export type StoredObject = { key: string; size: number; modifiedAt: Date };

/** Inclusive byte offsets, as in an HTTP Range header. */
export type ByteRange = { start?: number; end?: number };

export type PresignOptions = { expiresIn: number; contentDisposition?: string; contentType?: string; now?: Date };

export interface Storage {
  /** Human-readable description for logs ("local:/data/exports"). */
  readonly description: string;
  /**
   * Writes `body` to `key` atomically: the bytes go to a temporary object first and are renamed
   * to `key` only when complete, so a reader never sees a partial object. On error or abort the
   * temporary object is removed and the previous object under `key` (if any) is untouched.
   */
  put(key: string, body: Readable | AsyncIterable<Buffer | string>, opts?: { signal?: AbortSignal }): Promise<{ bytes: number }>;
  /** The object's bytes (or a range of them) as a stream. Throws StorageNotFoundError. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Size and time of the object, or null when absent. */
  stat(key: string): Promise<StoredObject | null>;
  /** Removes the object; absent objects are not an error. */
  delete(key: string): Promise<void>;
  /** Moves an object to another key, replacing what is there (atomic on the local backend). */
  rename(from: string, to: string): Promise<void>;
  /** Keys that start with `prefix` (a folder ends with '/'), sorted. */
  list(prefix: string): Promise<string[]>;
  /** The absolute file path of the object when the backend is a local directory (SFTP fastPut uses it), else undefined. */
  localPath(key: string): string | undefined;
  /**
   * A short-lived URL downloads of the object are redirected to (an object store configured to
   * presign), or null when downloads stream through this process.
   */
  downloadRedirect?(key: string, opts: PresignOptions): Promise<string | null>;
  /** Start-up check: throws an Error naming the variable to fix when the storage cannot be used. */
  check?(): Promise<void>;
}

export class StorageKeyError extends Error {
  constructor(key: string, why: string) {
    super(`Invalid storage key ${JSON.stringify(key)}: ${why}`);
    this.name = 'StorageKeyError';
  }
}

export class StorageNotFoundError extends Error {
  constructor(public readonly key: string) {
    super(`No stored object ${JSON.stringify(key)}`);
    this.name = 'StorageNotFoundError';
  }
}

/** Throws StorageKeyError unless `key` is a relative path without '.', '..' or empty segments. */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new StorageKeyError(String(key), 'empty');
  if (key.length > 1024) throw new StorageKeyError(key.slice(0, 40) + '…', 'longer than 1024 characters');
  if (key.startsWith('/')) throw new StorageKeyError(key, 'absolute paths are not allowed');
  if (/^[a-zA-Z]:/.test(key)) throw new StorageKeyError(key, 'drive paths are not allowed');
  if (key.includes('\\')) throw new StorageKeyError(key, 'backslashes are not allowed');
  // Control characters are never part of a key we create and only make logs and shells ambiguous.
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new StorageKeyError(key, 'control characters are not allowed');
  for (const segment of key.split('/')) {
    if (segment === '') throw new StorageKeyError(key, 'empty path segment');
    if (segment === '.' || segment === '..') throw new StorageKeyError(key, `"${segment}" segments are not allowed`);
  }
}

/** Like assertValidKey for a prefix: '' (the root) or a valid key, optionally ending with '/'. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
