import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStorage } from './local';
import { assertValidKey, StorageKeyError, StorageNotFoundError } from './types';

let root: string;
let storage: LocalStorage;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'dde-storage-'));
  storage = new LocalStorage(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('storage keys', () => {
  it.each(['../etc/passwd', 'a/../../b', '/etc/passwd', 'a//b', 'a/./b', '', 'a\\b', 'C:/x', 'a\nb', 'a/'])('refuses %j', (key) => {
    expect(() => assertValidKey(key)).toThrow(StorageKeyError);
    expect(() => storage.localPath(key)).toThrow(StorageKeyError);
  });

  it('accepts nested relative keys', () => {
    expect(() => assertValidKey('4021/run-1/4021-11-28-2026-08-activity-incremental.gz')).not.toThrow();
    expect(storage.localPath('a/b.gz')).toBe(path.join(root, 'a', 'b.gz'));
  });
});

describe('local storage', () => {
  it('writes, stats, reads ranges, renames, lists and deletes', async () => {
    const { bytes } = await storage.put('p/r/file.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(bytes).toBe(11);
    expect((await storage.stat('p/r/file.txt'))?.size).toBe(11);
    expect(await text(await storage.get('p/r/file.txt'))).toBe('hello world');
    expect(await text(await storage.get('p/r/file.txt', { start: 6, end: 8 }))).toBe('wor');
    await storage.rename('p/r/file.txt', 'p/r/final.txt');
    expect(await storage.stat('p/r/file.txt')).toBeNull();
    expect(await storage.list('p/')).toEqual(['p/r/final.txt']);
    expect(await storage.list('p/r/fin')).toEqual(['p/r/final.txt']);
    expect(await storage.list('')).toEqual(['p/r/final.txt']);
    await storage.delete('p/r/final.txt');
    await storage.delete('p/r/final.txt'); // absent: not an error
    expect(await storage.list('')).toEqual([]);
    await expect(storage.get('p/r/final.txt')).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  it('leaves neither a partial file nor a changed object when a write fails midway', async () => {
    await storage.put('k.txt', Readable.from(['old']));
    async function* failing() {
      yield Buffer.from('new bytes that never complete');
      throw new Error('source broke');
    }
    await expect(storage.put('k.txt', failing())).rejects.toThrow('source broke');
    expect(await text(await storage.get('k.txt'))).toBe('old');
    expect(readdirSync(root)).toEqual(['k.txt']);
  });

  it('stops and cleans up when the write is aborted', async () => {
    const controller = new AbortController();
    async function* slow() {
      yield Buffer.from('first');
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
      yield Buffer.from('second');
    }
    await expect(storage.put('a/b.txt', slow(), { signal: controller.signal })).rejects.toThrow();
    expect(readdirSync(path.join(root, 'a'))).toEqual([]);
  });
});
