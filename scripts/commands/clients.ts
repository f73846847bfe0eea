// dde clients: API clients of a program — create one (id and secret shown once), list, revoke.
import { z } from 'zod';
import { CLIENT_SCOPE_MESSAGE, CLIENT_SCOPES } from '@/lib/auth/api-access-schemas';
import { createApiClient, listApiClients, revokeApiClient, viewApiClient } from '@/lib/auth/api-clients';
import { AppError } from '@/lib/http/errors';
import { CliError, noPositionals, parseCommand } from './args';
import { CLI_AUTHOR, withDatabase } from './database';
import { isoOrDash, table } from './output';

export const summary = 'Create, list and revoke API clients (client credentials)';
export const usage = `Usage:
  dde clients create --program ID --name NAME [--connection ID ...] [--scope SCOPE ...]
  dde clients list [--program ID]
  dde clients revoke --program ID --client-id CLIENT_ID

create   Creates an API client for a program and prints its client id and secret. The secret is
         shown once (it is stored only as a hash). The client trades them for access tokens at
         POST /api/oauth/token (grant_type=client_credentials). The client reads the feed of the
         API connection(s) --connection names; without it, the program's only API connection.
list     Lists clients (never their secrets): client id, program, name, scopes, status, last use.
revoke   Revokes a client and every token issued to it. Running web processes stop accepting
         its tokens within 5 seconds.

Options:
  --program ID          the program
  --name NAME           what the client is (e.g. "Snowflake loader")
  --connection ID       an API connection the client reads (repeat for several; optional when the
                        program has exactly one API connection)
  --scope SCOPE         ${CLIENT_SCOPES.join(' | ')} (the default; a client reads its feed, nothing of
                        the management API: that takes a personal access token, dde tokens create)
  --client-id CLIENT_ID the client's id (ddec_…) or row id`;

const programId = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a numeric program id')
  .transform(Number);

function asCliError(err: unknown, flag: string): never {
  if (err instanceof AppError && err.code === 'not_found') throw new CliError(`${flag}: ${err.message}`);
  if (err instanceof AppError && err.code === 'validation_failed' && err.message.startsWith('Invalid connection_ids: ')) {
    throw new CliError(`--connection: ${err.message.slice('Invalid connection_ids: '.length)}`);
  }
  throw err;
}

async function create(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    {
      program: { type: 'string' },
      name: { type: 'string' },
      connection: { type: 'string', multiple: true },
      scope: { type: 'string', multiple: true },
    },
    z.object({
      program: programId,
      connection: z.array(z.guid({ error: 'must be a connection id (a UUID)' })).optional(),
      name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(100),
      scope: z.array(z.enum(CLIENT_SCOPES, { error: CLIENT_SCOPE_MESSAGE })).default(['data_exports.read']),
    }),
  );
  noPositionals(positionals);
  const { client, clientSecret } = await withDatabase((database) =>
    createApiClient(database, {
      programId: values.program,
      name: values.name,
      scopes: values.scope,
      connectionIds: values.connection,
      allowNoConnection: false,
      author: CLI_AUTHOR,
    }).catch((err) => asCliError(err, '--program')),
  );
  console.log(`Created API client "${client.name}" for program ${client.programId} (${client.scopes.join(', ')}).`);
  console.log(`Reads API connection(s): ${client.connectionIds.join(', ')}`);
  console.log(`Client id:     ${client.clientId}`);
  console.log(`Client secret: ${clientSecret}`);
  console.log('The secret is shown only now. Get a token with:');
  console.log(`  curl -u '${client.clientId}:<secret>' -d grant_type=client_credentials <server>/api/oauth/token`);
}

async function list(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(argv, { program: { type: 'string' } }, z.object({ program: programId.optional() }));
  noPositionals(positionals);
  const clients = await withDatabase(({ db }) => listApiClients(db, { programId: values.program ?? 'all' }));
  if (clients.length === 0) {
    console.log('No API clients. Create one with `dde clients create --program ID --name NAME`.');
    return;
  }
  const rows = [
    ['CLIENT ID', 'PROGRAM', 'NAME', 'CONNECTIONS', 'SCOPES', 'STATUS', 'CREATED', 'LAST USED'],
    ...clients.map((c) => {
      const v = viewApiClient(c);
      return [
        v.client_id,
        String(v.program_id),
        v.name,
        v.connection_ids.join(',') || '-',
        v.scopes.join(','),
        v.status,
        isoOrDash(v.created_at),
        v.last_used_at ? isoOrDash(v.last_used_at) : 'never',
      ];
    }),
  ];
  console.log(table(rows));
}

async function revoke(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(
    argv,
    { program: { type: 'string' }, 'client-id': { type: 'string' } },
    z.object({ program: programId, 'client-id': z.string({ error: 'is required' }).min(1).max(200) }),
  );
  noPositionals(positionals);
  const client = await withDatabase((database) =>
    revokeApiClient(database, { programId: values.program, idOrClientId: values['client-id'], author: CLI_AUTHOR }).catch((err) =>
      asCliError(err, '--client-id'),
    ),
  );
  console.log(`Revoked API client ${client.clientId} ("${client.name}", program ${client.programId}) and its tokens.`);
}

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'create') return create(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'revoke') return revoke(rest);
  throw new CliError(sub ? `unknown subcommand "${sub}"; use create, list or revoke` : 'a subcommand is required: create, list or revoke');
}
