// Helpers shared by CLI commands: argument parsing, errors, and a database for the command's life.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { z } from 'zod';
import { createDb, type Database } from '@/db/client';
import { startEmbedded } from '@/db/embedded';
import { migrateDatabase } from '@/db/migrate';
import { ConfigError, env } from '@/lib/env';

/** A usage error: printed as one line, exit code 2. */
export class CliError extends Error {}

export type Options = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** Parses argv against `options`, then validates the values with `schema`; errors name the flag. */
export function parseCommand<S extends z.ZodType>(
  argv: string[],
  options: Options,
  schema: S,
): { values: z.infer<S>; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  const result = schema.safeParse(parsed.values);
  if (!result.success) {
    const i = result.error.issues[0];
    const flag = i.path.length ? `--${String(i.path[0]).replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}` : 'arguments';
    throw new CliError(`${flag}: ${i.message}`);
  }
  return { values: result.data, positionals: parsed.positionals };
}

/**
 * Runs `fn` with a database: DATABASE_URL, the embedded server `npm start` is running, or
 * (when neither) the embedded server started for the length of the command.
 */
export async function withDatabase<T>(fn: (db: Database) => Promise<T>, opts: { migrate?: boolean } = { migrate: true }): Promise<T> {
  let e;
  try {
    e = env();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message.replace(/\n\s*/g, ' '));
    throw err;
  }
  let url = e.databaseUrl;
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    const server = await startEmbedded({ dir: path.join(e.dataDir, 'postgres'), password: e.embeddedPgPassword });
    url = server.url();
    if (server.owned) stop = server.stop;
  }
  const database = createDb(url, { max: 4 });
  try {
    await Promise.race([
      database.sql`select 1`,
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 10 s')), 10_000)),
    ]).catch((err: Error) => {
      throw new Error(`cannot reach the database (${redactUrl(url!)}): ${err.message}`);
    });
    if (opts.migrate !== false) await migrateDatabase(url);
    return await fn(database);
  } finally {
    await database.sql.end({ timeout: 5 });
    await stop?.();
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** A progress line that rewrites itself on a terminal and prints sparsely otherwise. */
export function progress(label: string) {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(text: string) {
      const t = Date.now();
      if (!tty && t - last < 2000) return;
      last = t;
      process.stderr.write(tty ? `\r${label}: ${text}\x1b[K` : `${label}: ${text}\n`);
    },
    done(text: string) {
      process.stderr.write(tty ? `\r${label}: ${text}\x1b[K\n` : `${label}: ${text}\n`);
    },
  };
}

/** Who changes made from the command line are recorded as in the Activity Log. */
export const CLI_AUTHOR = { accountId: null, label: 'dde CLI' };

/** An ISO instant without milliseconds, or "-". */
export const isoOrDash = (s: string | null) => (s ? s.replace(/\.\d{3}Z$/, 'Z') : '-');

/** Rows as aligned columns (the first row is the header). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function noPositionals(positionals: string[]): void {
  if (positionals.length) throw new CliError(`unexpected argument "${positionals[0]}"`);
}
