// dde users: create sign-in accounts and list them.
import { z } from 'zod';
import { findAccountByEmail, findExistingProgramIds, insertAccount, listAccounts, updateAccountPassword } from '@/db/queries/auth';
import { ROLES } from '@/db/schema/auth';
import { generateOneTimePassword, hashPassword, passwordProblem } from '@/lib/auth/passwords';
import { ROLE_LABELS } from '@/lib/auth/permissions';
import { CliError, noPositionals, parseCommand } from './args';
import { withDatabase } from './database';
import { table } from './output';

export const summary = 'Create, list and reset sign-in accounts';
export const usage = `Usage:
  dde users create --email EMAIL --role ROLE [--program ID ...] [--name NAME] [--password-stdin]
  dde users list
  dde users reset-password --email EMAIL [--password-stdin]

create   Creates an account. ROLE is firstup_super_admin (every program, read and write) or
         brand_super_admin (the programs given with --program, read only; at least one).
         Prints a one-time password, which must be changed at first sign-in, unless
         --password-stdin is given: then the password is read from standard input.
list     Lists accounts with their role, programs, last sign-in and status.
reset-password
         Gives an account a new one-time password (printed; it must be changed at the next
         sign-in), or the password read from standard input with --password-stdin.

Options:
  --email EMAIL        sign-in email (unique, case-insensitive)
  --role ROLE          firstup_super_admin | brand_super_admin
  --program ID         a program the account may see (repeat for several; brand_super_admin only)
  --name NAME          display name
  --password-stdin     read the password from standard input instead of generating one`;

const createSchema = z
  .object({
    email: z.email('must be an email address').max(320),
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    program: z
      .array(
        z
          .string()
          .regex(/^\d{1,15}$/, 'must be a numeric program id')
          .transform(Number),
      )
      .default([]),
    name: z.string().trim().min(1).max(200).optional(),
    passwordStdin: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.role === 'brand_super_admin' && v.program.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['program'], message: 'a brand_super_admin needs at least one --program' });
    }
    if (v.role === 'firstup_super_admin' && v.program.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['program'], message: 'a firstup_super_admin sees every program; leave out --program' });
    }
  });

async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if ((stream as NodeJS.ReadStream).isTTY)
    throw new CliError('--password-stdin: pipe the password in, e.g. `printf %s "$PW" | dde users create ...`');
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function create(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    {
      email: { type: 'string' },
      role: { type: 'string' },
      program: { type: 'string', multiple: true },
      name: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    },
    z.preprocess((raw) => {
      const r = raw as Record<string, unknown>;
      return { ...r, passwordStdin: r['password-stdin'], 'password-stdin': undefined };
    }, createSchema),
  );
  noPositionals(positionals);
  if (!values.email) throw new CliError('--email is required');
  const programIds = [...new Set(values.program)];

  let password: string;
  if (values.passwordStdin) {
    password = await readStdin();
    const problem = passwordProblem(password);
    if (problem) throw new CliError(`--password-stdin: the password ${problem}`);
  } else {
    password = generateOneTimePassword();
  }

  const account = await withDatabase(async ({ db }) => {
    if (await findAccountByEmail(db, values.email)) throw new CliError(`--email: an account with email ${values.email} already exists`);
    const found = await findExistingProgramIds(db, programIds);
    const missing = programIds.filter((id) => !found.includes(id));
    if (missing.length) throw new CliError(`--program: no program with id ${missing.join(', ')}`);
    return insertAccount(db, {
      email: values.email,
      name: values.name ?? null,
      role: values.role,
      passwordHash: await hashPassword(password),
      mustChangePassword: !values.passwordStdin,
      programIds,
    });
  });

  const scope =
    account.role === 'firstup_super_admin' ? 'every program' : `program${programIds.length > 1 ? 's' : ''} ${programIds.join(', ')}`;
  console.log(`Created ${ROLE_LABELS[account.role]} ${account.email} (${scope}).`);
  if (!values.passwordStdin) {
    console.log(`One-time password: ${password}`);
    console.log('It is shown only now; it must be changed at first sign-in.');
  }
}

async function list(argv: string[]): Promise<void> {
  const { positionals } = parseCommand(argv, {}, z.object({}));
  noPositionals(positionals);
  const accounts = await withDatabase(({ db }) => listAccounts(db));
  if (accounts.length === 0) {
    console.log('No accounts yet. Create one with `dde users create`.');
    return;
  }
  const rows = [
    ['EMAIL', 'ROLE', 'PROGRAMS', 'LAST SIGN-IN', 'STATUS'],
    ...accounts.map((a) => [
      a.email,
      a.role,
      a.role === 'firstup_super_admin' ? 'all' : a.programIds.join(',') || '-',
      a.lastSignInAt ? a.lastSignInAt.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'never',
      a.disabledAt ? 'disabled' : a.mustChangePassword ? 'must change password' : 'active',
    ]),
  ];
  console.log(table(rows));
}

async function resetPassword(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    { email: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    z.object({ email: z.email('must be an email address').max(320), 'password-stdin': z.boolean().default(false) }),
  );
  noPositionals(positionals);
  const piped = values['password-stdin'];
  let password: string;
  if (piped) {
    password = await readStdin();
    const problem = passwordProblem(password);
    if (problem) throw new CliError(`--password-stdin: the password ${problem}`);
  } else {
    password = generateOneTimePassword();
  }
  const email = await withDatabase(async ({ db }) => {
    const account = await findAccountByEmail(db, values.email);
    if (!account) throw new CliError(`--email: no account with email ${values.email}`);
    await updateAccountPassword(db, { accountId: account.id, passwordHash: await hashPassword(password), mustChange: !piped });
    return account.email;
  });
  console.log(`New password set for ${email}.`);
  if (!piped) {
    console.log(`One-time password: ${password}`);
    console.log('It is shown only now; it must be changed at the next sign-in.');
  }
}

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'create') return create(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'reset-password') return resetPassword(rest);
  throw new CliError(
    sub ? `unknown subcommand "${sub}"; use create, list or reset-password` : 'a subcommand is required: create, list or reset-password',
  );
}
