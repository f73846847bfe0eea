// dde migrate: apply the committed migrations to the configured database.
import { z } from 'zod';
import { parseCommand } from './args';
import { withDatabase } from './database';

export const summary = 'Apply database migrations';
export const usage = `Usage: dde migrate

Applies the migrations in db/migrations to DATABASE_URL (or the embedded PostgreSQL).
Safe to run repeatedly; npm start runs it on every start.`;

export async function run(argv: string[]) {
  parseCommand(argv, {}, z.object({}));
  await withDatabase(async () => undefined, { migrate: true });
  console.log('Migrations applied.');
}
