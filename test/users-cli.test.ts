// `dde users`: creating sign-in accounts from the command line.
import { spawn } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, programMemberships } from '@/db/schema';
import { verifyPassword } from '@/lib/auth/passwords';
import { env } from '@/lib/env';
import { run } from '@/scripts/commands/users';
import { CliError } from '@/scripts/commands/args';
import { createPrograms, useTestEnv } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { consoleOutput } from './helpers/console';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  useTestEnv(t);
  await createPrograms(t.db, [
    { id: 4021, name: 'Acme' },
    { id: 5170, name: 'Globex' },
  ]);
});
afterAll(async () => t?.drop());

const output = (argv: string[]) => consoleOutput(run, argv);

async function account(email: string) {
  const [row] = await t.db.select().from(accounts).where(eq(accounts.email, email));
  return row;
}

/** Runs the real CLI in a child process, with `stdin` piped in. */
function cli(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const e = env();
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      env: {
        ...process.env,
        DATABASE_URL: t.url,
        NEXTAUTH_SECRET: e.nextAuthSecret,
        DDE_ENCRYPTION_KEY: e.encryptionKey.toString('hex'),
        LOG_LEVEL: 'silent',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('dde users create', () => {
  it('creates a Firstup Super Admin and prints a one-time password that must be changed', async () => {
    const out = await output(['create', '--email', 'ops@example.com', '--role', 'firstup_super_admin', '--name', 'Ops']);
    expect(out).toContain('Created Firstup Super Admin ops@example.com (every program).');
    const password = /One-time password: (\S+)/.exec(out)![1];
    const row = await account('ops@example.com');
    expect(row).toMatchObject({ role: 'firstup_super_admin', name: 'Ops', mustChangePassword: true });
    expect(await verifyPassword(password, row.passwordHash)).toBe(true);
  });

  it('creates a Brand Super Admin with the programs given', async () => {
    const out = await output([
      'create',
      '--email',
      'brand@example.com',
      '--role',
      'brand_super_admin',
      '--program',
      '4021',
      '--program',
      '5170',
    ]);
    expect(out).toContain('Created Brand Super Admin brand@example.com (programs 4021, 5170).');
    const row = await account('brand@example.com');
    const memberships = await t.db.select().from(programMemberships).where(eq(programMemberships.accountId, row.id));
    expect(memberships.map((m) => m.programId).sort()).toEqual([4021, 5170]);
  });

  it('refuses a Brand Super Admin without a program, or with a program that does not exist', async () => {
    await expect(run(['create', '--email', 'b2@example.com', '--role', 'brand_super_admin'])).rejects.toThrow(
      new CliError('--program: a brand_super_admin needs at least one --program'),
    );
    await expect(run(['create', '--email', 'b2@example.com', '--role', 'brand_super_admin', '--program', '999'])).rejects.toThrow(
      '--program: no program with id 999',
    );
    expect(await account('b2@example.com')).toBeUndefined();
  });

  it('refuses an email that is already taken, whatever its case', async () => {
    await expect(run(['create', '--email', 'OPS@Example.com', '--role', 'firstup_super_admin'])).rejects.toThrow(/already exists/);
  });

  it('refuses a bad email and an unknown role, naming the flag', async () => {
    await expect(run(['create', '--email', 'not-an-email', '--role', 'firstup_super_admin'])).rejects.toThrow(/^--email: /);
    await expect(run(['create', '--email', 'x@example.com', '--role', 'owner'])).rejects.toThrow(
      /^--role: must be one of firstup_super_admin, brand_super_admin/,
    );
  });

  it('reads the password from standard input with --password-stdin, and prints no password', async () => {
    const res = await cli(
      ['users', 'create', '--email', 'piped@example.com', '--role', 'brand_super_admin', '--program', '4021', '--password-stdin'],
      'a piped password 123\n',
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Created Brand Super Admin piped@example.com (program 4021).');
    expect(res.stdout).not.toContain('a piped password');
    expect(res.stdout).not.toContain('One-time password');
    const row = await account('piped@example.com');
    expect(row.mustChangePassword).toBe(false);
    expect(await verifyPassword('a piped password 123', row.passwordHash)).toBe(true);
  });

  it('refuses a piped password that is too short, with exit code 2', async () => {
    const res = await cli(
      ['users', 'create', '--email', 'short@example.com', '--role', 'firstup_super_admin', '--password-stdin'],
      'short\n',
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--password-stdin: the password must be at least 12 characters');
    expect(await account('short@example.com')).toBeUndefined();
  });
});

describe('dde users list', () => {
  it('lists accounts with role, programs, last sign-in and status', async () => {
    const out = await output(['list']);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+ROLE\s+PROGRAMS\s+LAST SIGN-IN\s+STATUS$/);
    expect(out).toMatch(/brand@example.com\s+brand_super_admin\s+4021,5170\s+never\s+must change password/);
    expect(out).toMatch(/ops@example.com\s+firstup_super_admin\s+all\s+never\s+must change password/);
    expect(out).toMatch(/piped@example.com\s+brand_super_admin\s+4021\s+never\s+active/);
  });

  it('rejects an unknown subcommand', async () => {
    await expect(run(['delete'])).rejects.toThrow('unknown subcommand "delete"; use create, list or reset-password');
  });
});

describe('dde users reset-password', () => {
  it('gives the account a new one-time password that must be changed', async () => {
    const out = await output(['reset-password', '--email', 'PIPED@example.com']);
    expect(out).toContain('New password set for piped@example.com.');
    const password = /One-time password: (\S+)/.exec(out)![1];
    const row = await account('piped@example.com');
    expect(row.mustChangePassword).toBe(true);
    expect(await verifyPassword(password, row.passwordHash)).toBe(true);
    expect(await verifyPassword('a piped password 123', row.passwordHash)).toBe(false);
  });

  it('refuses an unknown email', async () => {
    await expect(run(['reset-password', '--email', 'ghost@example.com'])).rejects.toThrow(
      '--email: no account with email ghost@example.com',
    );
  });
});
