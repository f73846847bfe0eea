// dde tokens: personal access tokens — create one for an account (shown once), list, revoke.
import { z } from 'zod';
import { findAccountByEmail } from '@/db/queries/auth';
import { SCOPES } from '@/db/schema/auth';
import { AppError } from '@/lib/http/errors';
import { createPersonalToken, listPersonalTokens, revokePersonalToken, viewPersonalToken } from '@/lib/auth/personal-tokens';
import { CliError, noPositionals, parseCommand } from './args';
import { CLI_AUTHOR, withDatabase } from './database';
import { isoOrDash, table } from './output';

export const summary = 'Create, list and revoke personal API tokens';
export const usage = `Usage:
  dde tokens create --email EMAIL [--name NAME] [--scope SCOPE ...] [--expires-in-days N | --no-expiry]
  dde tokens list [--email EMAIL]
  dde tokens revoke --id TOKEN_ID

create   Creates a personal access token that acts with the account's access (its programs; its
         role caps what the scopes allow). Prints the token once: it is stored only as a hash.
list     Lists personal tokens (never the tokens themselves): id, prefix, owner, scopes, status.
revoke   Revokes a token. Running web processes stop accepting it within 5 seconds.

Options:
  --email EMAIL          the owning account
  --name NAME            what the token is for (default "CLI token")
  --scope SCOPE          ${SCOPES.join(' | ')} (repeat for several; default data_exports.read)
  --expires-in-days N    1–365 (default 90)
  --no-expiry            a token that does not expire
  --id TOKEN_ID          the token's id (from list)`;

async function create(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    {
      email: { type: 'string' },
      name: { type: 'string' },
      scope: { type: 'string', multiple: true },
      'expires-in-days': { type: 'string' },
      'no-expiry': { type: 'boolean' },
    },
    z
      .object({
        email: z.email('must be an email address').max(320),
        name: z.string().trim().min(1).max(100).default('CLI token'),
        scope: z.array(z.enum(SCOPES, { error: `must be one of ${SCOPES.join(', ')}` })).default(['data_exports.read']),
        'expires-in-days': z
          .string()
          .regex(/^\d{1,3}$/, 'must be a number of days from 1 to 365')
          .transform(Number)
          .refine((n) => n >= 1 && n <= 365, 'must be from 1 to 365')
          .optional(),
        'no-expiry': z.boolean().default(false),
      })
      .refine((v) => !(v['no-expiry'] && v['expires-in-days'] !== undefined), {
        message: 'give --expires-in-days or --no-expiry, not both',
        path: ['expires-in-days'],
      }),
  );
  noPositionals(positionals);
  const expiresInDays = values['no-expiry'] ? null : (values['expires-in-days'] ?? 90);
  const { token, view, email } = await withDatabase(async (database) => {
    const account = await findAccountByEmail(database.db, values.email);
    if (!account) throw new CliError(`--email: no account with email ${values.email}`);
    if (account.disabledAt) throw new CliError(`--email: the account ${account.email} is disabled`);
    const created = await createPersonalToken(database, {
      accountId: account.id,
      role: account.role,
      name: values.name,
      scopes: values.scope,
      expiresInDays,
      author: CLI_AUTHOR,
    });
    return { token: created.token, view: viewPersonalToken(created.row), email: account.email };
  });
  console.log(
    `Created token ${view.id} for ${email} (${view.scopes.join(', ')}; ${view.expires_at ? `expires ${isoOrDash(view.expires_at)}` : 'no expiry'}).`,
  );
  console.log(`Token: ${token}`);
  console.log('It is shown only now; send it as "Authorization: Bearer <token>".');
}

async function list(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    { email: { type: 'string' } },
    z.object({ email: z.email('must be an email address').max(320).optional() }),
  );
  noPositionals(positionals);
  const tokens = await withDatabase(async ({ db }) => {
    let accountId: string | 'all' = 'all';
    if (values.email) {
      const account = await findAccountByEmail(db, values.email);
      if (!account) throw new CliError(`--email: no account with email ${values.email}`);
      accountId = account.id;
    }
    return listPersonalTokens(db, { accountId });
  });
  if (tokens.length === 0) {
    console.log('No personal tokens. Create one with `dde tokens create --email EMAIL`.');
    return;
  }
  const rows = [
    ['ID', 'PREFIX', 'OWNER', 'NAME', 'SCOPES', 'STATUS', 'EXPIRES', 'LAST USED'],
    ...tokens.map((t) => {
      const v = viewPersonalToken(t);
      return [
        v.id,
        `${v.token_prefix}…`,
        t.accountEmail,
        v.name ?? '-',
        v.scopes.join(','),
        v.status,
        isoOrDash(v.expires_at),
        v.last_used_at ? isoOrDash(v.last_used_at) : 'never',
      ];
    }),
  ];
  console.log(table(rows));
}

async function revoke(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    { id: { type: 'string' } },
    z.object({ id: z.guid('must be a token id (from `dde tokens list`)') }),
  );
  noPositionals(positionals);
  const row = await withDatabase(async (database) => {
    try {
      return await revokePersonalToken(database, { accountId: 'all', id: values.id, author: CLI_AUTHOR });
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') throw new CliError(`--id: no active personal token with id ${values.id}`);
      throw err;
    }
  });
  console.log(`Revoked token ${row.id} (${row.tokenPrefix}…).`);
}

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'create') return create(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'revoke') return revoke(rest);
  throw new CliError(sub ? `unknown subcommand "${sub}"; use create, list or revoke` : 'a subcommand is required: create, list or revoke');
}
