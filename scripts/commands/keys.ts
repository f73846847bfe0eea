// dde keys: the keys that sign manifests — list them, or rotate (a new key signs from now on; the
// old ones stay published at GET /api/v1/signing-keys so earlier manifests still verify).
import { listSigningKeys } from '@/db/queries/signing-keys';
import { publishedKeys, rotateSigningKey } from '@/lib/exports';
import { CliError, noPositionals, parseCommand } from './args';
import { withDatabase } from './database';
import { table } from './output';
import { z } from 'zod';

export const summary = 'List or rotate the keys that sign manifests';
export const usage = `Usage:
  dde keys list
  dde keys rotate

list     Lists the manifest signing keys, newest first: the newest signs new manifests.
rotate   Adds a new Ed25519 key, which signs every manifest from now on. The older keys stay
         published (GET /api/v1/signing-keys), so manifests signed before still verify.
         The private key is stored encrypted with DDE_ENCRYPTION_KEY and never printed.`;

async function list(argv: string[]): Promise<void> {
  noPositionals(parseCommand(argv, {}, z.object({})).positionals);
  const keys = await withDatabase(async ({ db }) => {
    await publishedKeys(db); // makes the first key when there is none yet
    return listSigningKeys(db);
  });
  console.log(
    table([
      ['KEY ID', 'CREATED', 'SIGNS'],
      ...keys.map((k, i) => [k.id, k.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'), i === 0 ? 'yes' : 'no (verifies older manifests)']),
    ]),
  );
}

async function rotate(argv: string[]): Promise<void> {
  noPositionals(parseCommand(argv, {}, z.object({})).positionals);
  const { added, count } = await withDatabase(async ({ db }) => {
    const key = await rotateSigningKey(db);
    return { added: key, count: (await listSigningKeys(db)).length };
  });
  console.log(`Added signing key ${added.id}; it signs new manifests from now on. ${count} key${count === 1 ? '' : 's'} published.`);
}

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'rotate') return rotate(rest);
  throw new CliError(sub ? `unknown subcommand "${sub}"; use list or rotate` : 'a subcommand is required: list or rotate');
}
