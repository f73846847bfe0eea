// The upload pipeline against a real OpenSSH sshd: files of several read blocks and many WRITE
// requests, and storage streams whose chunks straddle request boundaries, arrive byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverFiles, type DeliveryFile, type DeliveryProgress } from '@/lib/delivery';
import { sshdSkipReason, startSshd, type TestSshd } from './helpers/sshd';

const skip = sshdSkipReason();
if (skip) console.warn(`Skipping the real-sshd pipeline tests: ${skip}`);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!!skip)('SFTP upload pipeline', () => {
  let sshd: TestSshd;
  let local: string;
  let n = 0;

  beforeAll(async () => {
    sshd = await startSshd();
    local = mkdtempSync(path.join(os.tmpdir(), 'dde-pipeline-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    if (local) rmSync(local, { recursive: true, force: true });
  });

  function folder(): string {
    const name = `pipe-${++n}`;
    mkdirSync(path.join(sshd.rootDir, name));
    chownSync(path.join(sshd.rootDir, name), sshd.uid, sshd.gid);
    return name;
  }
  const deliver = (
    f: string,
    files: DeliveryFile[],
    extra: { verifySourceChecksum?: boolean; onProgress?: (p: DeliveryProgress) => void } = {},
  ) =>
    deliverFiles({
      destination: { host: sshd.host, port: sshd.port, username: sshd.username, folder: f },
      auth: { method: 'private_key', privateKey: sshd.privateKey },
      pinnedFingerprint: sshd.hostKeyFingerprint,
      files,
      timeouts: { operationTimeoutMs: 15_000, endTimeoutMs: 1_000 },
      ...extra,
    });

  it('a local file of several read blocks and an odd size arrives identical, with its checksum verified in the same pass', async () => {
    const content = randomBytes(5 * 1024 * 1024 + 12_345);
    const file = path.join(local, 'big.gz');
    writeFileSync(file, content);
    const f = folder();
    const progress: number[] = [];
    const result = await deliver(f, [{ name: 'big.gz', size: content.length, sha256: sha256(content), localPath: file }], {
      verifySourceChecksum: true,
      onProgress: (p) => progress.push(p.fileBytes),
    });
    expect(result.bytes).toBe(content.length);
    expect(sha256(readFileSync(path.join(sshd.rootDir, f, 'big.gz')))).toBe(sha256(content));
    expect(progress.at(-1)).toBe(content.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('a storage stream whose chunks straddle request boundaries arrives identical', async () => {
    const sizes = [1, 7, 100_000, 300_000, 3, 261_119, 261_121, 1_048_576, 65_536, 2, 500_001];
    const chunks = sizes.map((s) => randomBytes(s));
    const content = Buffer.concat(chunks);
    const f = folder();
    await deliver(f, [{ name: 'streamed.csv', size: content.length, sha256: sha256(content), open: () => Readable.from(chunks) }], {
      verifySourceChecksum: true,
    });
    expect(sha256(readFileSync(path.join(sshd.rootDir, f, 'streamed.csv')))).toBe(sha256(content));
  });

  it('an empty file is delivered as an empty file', async () => {
    const file = path.join(local, 'empty.csv');
    writeFileSync(file, '');
    const f = folder();
    await deliver(f, [{ name: 'empty.csv', size: 0, sha256: sha256(Buffer.alloc(0)), localPath: file }]);
    expect(readFileSync(path.join(sshd.rootDir, f, 'empty.csv')).length).toBe(0);
  });
});
