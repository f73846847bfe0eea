// Local-directory storage: each key is a file under the root. Writes go to a hidden temporary file
// in the same directory and are renamed into place, which is atomic on one filesystem.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidKey, assertValidPrefix, StorageNotFoundError, type ByteRange, type Storage, type StoredObject } from './types';

/** Temporary files written by put(); list() never shows them. */
const PARTIAL = /^\.[^/]*\.partial-[0-9a-f]{12}$/;

export class LocalStorage implements Storage {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `local:${this.root}`;
  }

  localPath(key: string): string {
    assertValidKey(key);
    const full = path.resolve(this.root, ...key.split('/'));
    // assertValidKey already forbids '..'; this is the belt to its braces.
    if (full !== this.root && !full.startsWith(this.root + path.sep)) throw new Error(`storage key escapes the root: ${key}`);
    return full;
  }

  async put(key: string, body: Readable | AsyncIterable<Buffer | string>, opts: { signal?: AbortSignal } = {}): Promise<{ bytes: number }> {
    const target = this.localPath(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.partial-${randomBytes(6).toString('hex')}`);
    const out = createWriteStream(temp, { flags: 'wx', highWaterMark: 1 << 20 });
    try {
      const source = body instanceof Readable ? body : Readable.from(body);
      await pipeline(source, out, { signal: opts.signal });
      // Flush to disk before the rename makes the file visible under its final name.
      const fh = await open(temp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const { size } = await stat(temp);
      await rename(temp, target);
      return { bytes: size };
    } catch (err) {
      out.destroy();
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string, range: ByteRange = {}): Promise<Readable> {
    const file = this.localPath(key);
    const s = await stat(file).catch(() => null);
    if (!s || !s.isFile()) throw new StorageNotFoundError(key);
    return createReadStream(file, { start: range.start, end: range.end, highWaterMark: 1 << 20 });
  }

  async stat(key: string): Promise<StoredObject | null> {
    const s = await stat(this.localPath(key)).catch(() => null);
    if (!s || !s.isFile()) return null;
    return { key, size: s.size, modifiedAt: s.mtime };
  }

  async delete(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.localPath(from);
    const target = this.localPath(to);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await rename(source, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageNotFoundError(from);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // The prefix's folder part is walked; the rest filters names.
    const slash = prefix.lastIndexOf('/');
    const folder = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: string[] = [];
    const walk = async (rel: string) => {
      const dir = rel ? path.join(this.root, ...rel.split('/')) : this.root;
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await walk(key);
        } else if (e.isFile() && key.startsWith(prefix) && !PARTIAL.test(e.name)) {
          out.push(key);
        }
      }
    };
    await walk(folder);
    return out.sort();
  }
}
