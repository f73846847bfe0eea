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

/** "1 h 02 min", "3 min 05 s", "12 s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

/**
 * A progress line: on a terminal it rewrites itself (percent done and time left, when the total
 * is known); otherwise it prints a plain line at most every `plainEveryMs` (2 s).
 */
export function progress(label: string, opts: { tty?: boolean; write?: (s: string) => void; plainEveryMs?: number } = {}) {
  const tty = opts.tty ?? process.stderr.isTTY === true;
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  const every = opts.plainEveryMs ?? 2000;
  const started = Date.now();
  let last = 0;
  const line = (text: string, done?: number, total?: number) => {
    if (done === undefined || !total) return `${label}: ${text}`;
    const fraction = Math.min(1, Math.max(0, done / total));
    const elapsed = (Date.now() - started) / 1000;
    const left = fraction > 0 && elapsed >= 0.5 ? duration((elapsed * (1 - fraction)) / fraction) : 'estimating';
    return `${label}: ${(fraction * 100).toFixed(1).padStart(5)}% ${text} — ${fraction >= 1 ? 'finishing' : `${left} left`}`;
  };
  return {
    /** `done` of `total` (the whole job's units) give the percent and the time left. */
    update(text: string, done?: number, total?: number) {
      const t = Date.now();
      if (t - last < (tty ? 100 : every)) return;
      last = t;
      write(tty ? `\r${line(text, done, total)}\x1b[K` : `${line(text, done, total)}\n`);
    },
    done(text: string) {
      write(tty ? `\r${label}: ${text}\x1b[K\n` : `${label}: ${text}\n`);
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
