// A real S3-compatible server for the S3 suites, the scale test and the S3 benchmark: Ceph's RADOS
// Gateway (Debian's radosgw, ceph-mon, ceph-osd) as a one-node cluster on 127.0.0.1 — a monitor,
// one OSD keeping its data in memory (memstore) and radosgw — all under one temporary folder,
// without authentication between the daemons (loopback only), single-copy pools.
//
//   startRgw()  starts a fresh cluster (about 10 s) and returns its endpoint and keys;
//   obtainRgw()    reuses the server named by TEST_S3_ENDPOINT (+ TEST_S3_ACCESS_KEY_ID,
//               TEST_S3_SECRET_ACCESS_KEY) or starts one;
//   `npx tsx test/helpers/rgw.ts` starts one and prints the TEST_S3_* lines to reuse it.
//
// Under CI=true missing packages are a failure (rgwSkipReason throws), never a skip.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const execFileAsync = promisify(execFile);

export const RGW_BINARIES = [
  '/usr/bin/radosgw',
  '/usr/bin/radosgw-admin',
  '/usr/bin/ceph-mon',
  '/usr/bin/ceph-osd',
  '/usr/bin/ceph',
  '/usr/bin/monmaptool',
];
export const RGW_APT = 'apt-get install -y radosgw && apt-get install -y --no-install-recommends ceph-mon ceph-osd';
/** The pools radosgw uses with the default zone. */
const POOLS = [
  '.rgw.root',
  'default.rgw.log',
  'default.rgw.control',
  'default.rgw.meta',
  'default.rgw.buckets.index',
  'default.rgw.buckets.data',
  'default.rgw.buckets.non-ec',
];

/** The key id RGW's testing KMS backend knows (SSE-KMS with this id encrypts; any other is refused). */
export const RGW_KMS_KEY_ID = 'testkey-1';

export type TestRgw = {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Milliseconds from the first command to the first answered request (0 when reused). */
  startupMs: number;
  /** The cluster's folder (config, logs); '' when reused. */
  dir: string;
  /** An S3 client for this server (path-style, checksums only when required). */
  client(): S3Client;
  /** Creates a bucket with a fresh name starting with `prefix` and returns its name. */
  createBucket(prefix?: string): Promise<string>;
  /** Stops the daemons (SIGKILL: the data is in memory only) and removes the folder. No-op when reused. */
  stop(): Promise<void>;
};

/** Why the real RGW cannot run here, or null. */
export function rgwUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the RGW harness needs Linux';
  const missing = RGW_BINARIES.filter((b) => !existsSync(b));
  if (missing.length) return `the Ceph packages are not installed (${missing.join(', ')} missing; ${RGW_APT})`;
  return null;
}

/** Null when S3 suites can run (a TEST_S3_ENDPOINT or the packages); in CI a missing server fails instead of skipping. */
export function rgwSkipReason(): string | null {
  if (process.env.TEST_S3_ENDPOINT) return null;
  const reason = rgwUnavailable();
  if (reason && process.env.CI === 'true') throw new Error(`CI=true requires a real S3 server (Ceph RGW): ${reason}`);
  return reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function clientFor(endpoint: string, region: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    // Pacific does not understand the SDK's default checksums (411 MissingContentLength on streamed puts).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function withHelpers(base: Omit<TestRgw, 'client' | 'createBucket'>): TestRgw {
  const rgw: TestRgw = {
    ...base,
    client: () => clientFor(base.endpoint, base.region, base.accessKeyId, base.secretAccessKey),
    async createBucket(prefix = 'dde-test') {
      const name = `${prefix}-${randomBytes(5).toString('hex')}`.toLowerCase();
      const s3 = rgw.client();
      try {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        s3.destroy();
      }
      return name;
    },
  };
  return rgw;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`RGW harness: ${what} did not happen within ${timeoutMs} ms\n${logs()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts a one-node cluster (mon + memstore OSD + radosgw) on free 127.0.0.1 ports. */
export async function startRgw(opts: { memoryBytes?: number; sts?: boolean } = {}): Promise<TestRgw> {
  const reason = rgwUnavailable();
  if (reason) throw new Error(reason);
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-rgw-'));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  const osdUuid = randomUUID();
  const accessKeyId = `DDETEST${randomBytes(6).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const conf = path.join(dir, 'ceph.conf');
  const keyring = path.join(dir, 'keyring');
  mkdirSync(path.join(dir, 'mon'), { recursive: true });
  mkdirSync(path.join(dir, 'osd', 'osd.0'), { recursive: true });
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  writeFileSync(
    conf,
    `[global]
fsid = ${fsid}
mon_host = v2:127.0.0.1:${monPort}
ms_bind_msgr1 = false
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
mon_allow_pool_delete = true
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
log_file = ${dir}/$name.log
pid_file = ${dir}/run/$name.pid
keyring = ${keyring}
mon_data = ${dir}/mon/$name
osd_data = ${dir}/osd/$name
crash_dir = ${dir}/crash

[osd.0]
osd_objectstore = memstore
memstore_device_bytes = ${opts.memoryBytes ?? 2 * 1024 ** 3}

[client.rgw]
ms_mon_client_mode = crc
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw_dns_name = 127.0.0.1
${
  // STS (AssumeRole) on request only: with it, RGW answers a wrong secret with AccessDenied instead of SignatureDoesNotMatch.
  opts.sts
    ? 'rgw_enable_apis = s3, admin, sts, iam\nrgw_s3_auth_use_sts = true\nrgw_sts_key = ddeteststskey016'
    : 'rgw_enable_apis = s3, admin'
}
rgw_crypt_s3_kms_backend = testing
rgw_crypt_s3_kms_encryption_keys = ${RGW_KMS_KEY_ID}=${Buffer.alloc(32, 7).toString('base64')}
rgw_crypt_require_ssl = false
`,
  );
  const children: ChildProcess[] = [];
  const logs = () =>
    ['mon.a', 'osd.0', 'client.rgw']
      .map((n) => {
        const f = path.join(dir, `${n}.log`);
        return existsSync(f) ? `--- ${n}.log (tail)\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}` : '';
      })
      .join('\n');
  const cmd = async (file: string, args: string[]) => {
    try {
      return (await execFileAsync(file, ['-c', conf, ...args], { timeout: 60_000 })).stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`RGW harness: ${path.basename(file)} ${args.join(' ')} failed: ${e.stderr || e.message}\n${logs()}`);
    }
  };
  const daemon = (file: string, args: string[]) => {
    const child = spawn(file, ['-c', conf, '-f', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once('exit', (code, signal) => {
      if (!stopping && code !== 0) process.stderr.write(`RGW harness: ${path.basename(file)} exited (${code ?? signal}): ${stderr}\n`);
    });
    children.push(child);
    return child;
  };
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await execFileAsync('ceph-authtool', ['--create-keyring', keyring, '-n', 'mon.', '--gen-key', '--cap', 'mon', 'allow *']);
    const monmap = path.join(dir, 'monmap');
    await execFileAsync('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap]);
    await cmd('/usr/bin/ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring]);
    daemon('/usr/bin/ceph-mon', ['-i', 'a']);
    await cmd('/usr/bin/ceph', ['osd', 'new', osdUuid, '0']);
    await cmd('/usr/bin/ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    daemon('/usr/bin/ceph-osd', ['-i', '0']);
    await waitFor('the OSD coming up', async () => /1 up/.test(await cmd('/usr/bin/ceph', ['osd', 'stat'])), 60_000, logs);
    await Promise.all(POOLS.map((p) => cmd('/usr/bin/ceph', ['osd', 'pool', 'create', p, '8'])));
    for (const p of POOLS) await cmd('/usr/bin/ceph', ['osd', 'pool', 'application', 'enable', p, 'rgw']);
    daemon('/usr/bin/radosgw', ['-n', 'client.rgw']);
    await cmd('/usr/bin/radosgw-admin', [
      'user',
      'create',
      '--uid=dde-test',
      '--display-name=DDE tests',
      `--access-key=${accessKeyId}`,
      `--secret-key=${secretAccessKey}`,
    ]);
    await waitFor('radosgw answering', () => portAnswers(rgwPort), 60_000, logs);
    const rgw = withHelpers({
      endpoint: `http://127.0.0.1:${rgwPort}`,
      region: 'us-east-1',
      accessKeyId,
      secretAccessKey,
      startupMs: 0,
      dir,
      stop,
    });
    // The first request waits until radosgw has set up its zone: make it here, not in a test.
    await waitFor('a first bucket', async () => ((await rgw.createBucket('dde-warmup')) ? true : false), 60_000, logs);
    rgw.startupMs = Date.now() - started;
    return rgw;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The server of TEST_S3_ENDPOINT when set (nothing to stop), else a fresh cluster. */
export async function obtainRgw(): Promise<TestRgw> {
  const endpoint = process.env.TEST_S3_ENDPOINT;
  if (endpoint) {
    const accessKeyId = process.env.TEST_S3_ACCESS_KEY_ID;
    const secretAccessKey = process.env.TEST_S3_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) throw new Error('TEST_S3_ENDPOINT needs TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY');
    return withHelpers({
      endpoint,
      region: process.env.TEST_S3_REGION ?? 'us-east-1',
      accessKeyId,
      secretAccessKey,
      startupMs: 0,
      dir: '',
      stop: async () => undefined,
    });
  }
  return startRgw();
}

// `npx tsx test/helpers/rgw.ts`: start a server for several runs and print how to reuse it.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const rgw = await startRgw();
  process.stdout.write(
    `RGW ready in ${(rgw.startupMs / 1000).toFixed(1)} s (Ctrl-C stops it)\n` +
      `export TEST_S3_ENDPOINT=${rgw.endpoint}\nexport TEST_S3_ACCESS_KEY_ID=${rgw.accessKeyId}\nexport TEST_S3_SECRET_ACCESS_KEY=${rgw.secretAccessKey}\n`,
  );
  const quit = () => void rgw.stop().then(() => process.exit(0));
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
}
