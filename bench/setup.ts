// What the benches that run the product's own jobs (bench:historical, bench:burst) set up alike: a
// throwaway embedded PostgreSQL and an OpenSSH sshd on 127.0.0.1, the product's environment pointed
// at them, and the admin that creates the connections. The seeding of bench:export's window (also
// bench:export-s3's, bench:load's, export-profile's) is bench/export-seed.ts.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded, type EmbeddedServer } from '@/db/embedded';
import type { UserActor } from '@/lib/auth/actor';
import { resetEnv } from '@/lib/env';
import { setStorage } from '@/lib/storage';
import { startSshd, type TestSshd } from '@/test/helpers/sshd';

/** The Firstup Super Admin the benches act as. */
export const BENCH_ADMIN: UserActor = {
  kind: 'user',
  accountId: null as unknown as string,
  email: 'bench@firstup.example',
  name: null,
  role: 'firstup_super_admin',
  mustChangePassword: false,
  programs: 'all',
  label: 'bench@firstup.example',
};

export type BenchServices = { tmp: string; server: EmbeddedServer; sshd: TestSshd; url: string };

/**
 * Starts PostgreSQL (in a new temporary folder named after `name`) and sshd, and points the
 * product's environment at them (`env` adds to or overrides its settings); local storage.
 */
export async function startBenchServices(
  name: string,
  opts: { settings?: Record<string, string>; env?: Record<string, string | undefined> } = {},
): Promise<BenchServices> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `dde-bench-${name}-`));
  console.log('starting a throwaway embedded PostgreSQL and an OpenSSH sshd…');
  const server = await startEmbedded({
    dir: path.join(tmp, 'pg'),
    password: 'bench',
    ephemeral: true,
    logFile: path.join(tmp, 'pg.log'),
    ...(opts.settings ? { settings: opts.settings } : {}),
  });
  const sshd = await startSshd();
  const url = server.url();
  resetEnv({
    DATABASE_URL: url,
    NEXTAUTH_SECRET: randomBytes(32).toString('hex'),
    NEXTAUTH_URL: 'http://localhost:3000',
    DDE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    DDE_DATA_DIR: path.join(tmp, 'data'),
    LOG_LEVEL: 'silent',
    SMTP_URL: undefined,
    ...opts.env,
  });
  setStorage(undefined);
  return { tmp, server, sshd, url };
}
