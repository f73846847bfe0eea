// bench:sftp — deliver a ≥ 100 MB export (data file, .sha256 sidecar, manifest; temporary names,
// size verification, rename) to a real OpenSSH sshd on 127.0.0.1 with deliverFiles(), versus
// OpenSSH's own `sftp -b` put of the same data file to the same server, in the same run.
// docs/performance.md target: our throughput ≥ 1.0 × OpenSSH's. ssh2's optional native crypto binding
// (built by its install script when a compiler is present, as `npm ci` does) matters here: the
// run says whether it was loaded.
//   npm run bench:sftp [-- --mb=128 --rounds=7 --no-record]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { createGzip } from 'node:zlib';
import { deliverFiles, type DeliveryFile } from '@/lib/delivery';
import { startSshd, sshdUnavailable } from '@/test/helpers/sshd';
import { appendResults } from './results';

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const TARGET_MB = arg('mb', 128);

/** Whether ssh2 encrypts through its native binding (else Node's crypto per packet, Poly1305 in WebAssembly). */
function ssh2Binding(): string {
  try {
    const crypto = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean };
    return crypto.bindingAvailable ? 'native binding' : 'no native binding (reinstall ssh2 with a C++ compiler present)';
  } catch {
    return 'unknown';
  }
}
const ROUNDS = arg('rounds', 7);

/** A gzip file of at least TARGET_MB: CSV-like rows with random ids and payloads (compresses like real exports barely do). */
async function makeExport(file: string): Promise<void> {
  const target = TARGET_MB * 1e6;
  let produced = 0;
  const rows = async function* () {
    yield Buffer.from('Event ID,User ID,Content ID,Event Type,Payload\n');
    while (produced < target * 1.02) {
      const lines: string[] = [];
      for (let i = 0; i < 2000; i++)
        lines.push(
          `${randomBytes(8).toString('hex')},${randomBytes(6).toString('hex')},${i},impression,${randomBytes(48).toString('base64')}`,
        );
      const chunk = Buffer.from(lines.join('\n') + '\n');
      yield chunk;
      produced = statSafe(file);
    }
  };
  await pipeline(Readable.from(rows()), createGzip({ level: 1 }), createWriteStream(file));
}

function statSafe(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function clearRemote(rootDir: string): void {
  for (const f of readdirSync(rootDir)) rmSync(path.join(rootDir, f), { force: true });
}

async function main() {
  // The SFTP server of this benchmark listens on 127.0.0.1, which the outbound policy refuses unless allowed.
  process.env.DDE_OUTBOUND_ALLOWED_NETWORKS ??= '127.0.0.1/32';
  const unavailable = sshdUnavailable();
  if (unavailable) throw new Error(`bench:sftp needs OpenSSH sshd: ${unavailable}`);
  if (spawnSync('sftp', ['-V']).error) throw new Error('bench:sftp needs the OpenSSH sftp client (apt-get install -y openssh-client)');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-bench-sftp-'));
  const sshd = await startSshd();
  try {
    const name = '4021-11-28-2026-08-activity-incremental.gz';
    const dataPath = path.join(dir, name);
    process.stdout.write(`generating a ${TARGET_MB} MB gzip export… `);
    await makeExport(dataPath);
    const size = statSync(dataPath).size;
    const digest = await sha256(dataPath);
    console.log(`${(size / 1e6).toFixed(1)} MB`);

    const sidecarPath = path.join(dir, `${name}.sha256`);
    writeFileSync(sidecarPath, `${digest}  ${name}\n`);
    const manifestName = '4021-11-28-2026-08-manifest-incremental.json';
    const manifestPath = path.join(dir, manifestName);
    writeFileSync(
      manifestPath,
      JSON.stringify({
        schema_version: 1,
        program_id: 4021,
        export_type: 'incremental',
        files: [{ name, type: 'activity', bytes: size, sha256: digest }],
      }),
    );
    const files: DeliveryFile[] = [];
    for (const p of [dataPath, sidecarPath, manifestPath]) {
      files.push({ name: path.basename(p), size: statSync(p).size, sha256: p === dataPath ? digest : await sha256(p), localPath: p });
    }

    const keyPath = path.join(dir, 'id_ed25519');
    writeFileSync(keyPath, sshd.privateKey, { mode: 0o600 });
    const batch = path.join(dir, 'batch');
    writeFileSync(batch, `put ${dataPath} ${name}\n`);
    const openssh = () => {
      const t = performance.now();
      execFileSync(
        'sftp',
        [
          '-q',
          '-b',
          batch,
          '-i',
          keyPath,
          '-P',
          String(sshd.port),
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'LogLevel=ERROR',
          `${sshd.username}@${sshd.host}`,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const s = (performance.now() - t) / 1000;
      if (statSync(path.join(sshd.rootDir, name)).size !== size) throw new Error('OpenSSH upload incomplete');
      return s;
    };
    const ours = async () => {
      const t = performance.now();
      await deliverFiles({
        destination: { host: sshd.host, port: sshd.port, username: sshd.username, folder: '.' },
        auth: { method: 'private_key', privateKey: sshd.privateKey },
        pinnedFingerprint: sshd.hostKeyFingerprint,
        files,
      });
      const s = (performance.now() - t) / 1000;
      if (statSync(path.join(sshd.rootDir, name)).size !== size) throw new Error('deliverFiles upload incomplete');
      return s;
    };

    // Warm the page cache and both code paths once.
    await sha256(dataPath);
    clearRemote(sshd.rootDir);
    openssh();
    clearRemote(sshd.rootDir);
    await ours();

    // Paired rounds, alternating which side goes first: on a shared machine the load drifts, and
    // the two runs of one round see nearly the same load. The ratio is the median of the rounds' ratios.
    const times = { openssh: [] as number[], ours: [] as number[] };
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let o = 0;
      let u = 0;
      for (const side of r % 2 === 0 ? ['openssh', 'ours'] : ['ours', 'openssh']) {
        clearRemote(sshd.rootDir);
        if (side === 'openssh') o = openssh();
        else u = await ours();
      }
      times.openssh.push(o);
      times.ours.push(u);
      ratios.push(o / u);
    }
    clearRemote(sshd.rootDir);

    const mb = size / 1e6;
    const oSec = median(times.openssh);
    const uSec = median(times.ours);
    const oRate = mb / oSec;
    const uRate = mb / uSec;
    const ratio = median(ratios);
    console.log('');
    console.log('| upload of the same file to the same sshd | median s | MB/s | runs (s) |');
    console.log('| --- | --- | --- | --- |');
    console.log(
      `| OpenSSH \`sftp -b\` put (data file only) | ${oSec.toFixed(2)} | ${oRate.toFixed(1)} | ${times.openssh.map((x) => x.toFixed(2)).join(', ')} |`,
    );
    console.log(
      `| deliverFiles (file + sidecar + manifest, temp names, size check, rename) | ${uSec.toFixed(2)} | ${uRate.toFixed(1)} | ${times.ours.map((x) => x.toFixed(2)).join(', ')} |`,
    );
    console.log(`paired ratios (ours/OpenSSH throughput) per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
    console.log('');
    const line = `RESULT sftp ratio=${ratio.toFixed(2)} mb=${Math.round(mb)}`;
    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    const binding = ssh2Binding();
    console.log(`load average during the run: ${load} (runs interleaved, so both sides see the same load); ssh2 crypto: ${binding}`);
    if (!process.argv.includes('--no-record'))
      appendResults('bench:sftp', [
        `${mb.toFixed(1)} MB gzip export to OpenSSH sshd on 127.0.0.1, ${ROUNDS} paired rounds (order alternating), medians; load average ${load}; ssh2 crypto: ${binding}`,
        `OpenSSH \`sftp -b\` put: ${oSec.toFixed(2)} s, ${oRate.toFixed(1)} MB/s`,
        `deliverFiles (file + sidecar + manifest, temp names, remote size check, rename): ${uSec.toFixed(2)} s, ${uRate.toFixed(1)} MB/s`,
        `ratio ours/OpenSSH (median of the rounds' paired ratios ${ratios.map((x) => x.toFixed(2)).join(', ')}) = ${ratio.toFixed(2)} (target ≥ 1.0)`,
        `\`${line}\``,
      ]);
    console.log(line);
  } finally {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
