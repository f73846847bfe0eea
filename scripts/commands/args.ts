// Command-line arguments: parsing flags against a zod schema, and the usage error they raise.
import { parseArgs } from 'node:util';
import { z } from 'zod';

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

export function noPositionals(positionals: string[]): void {
  if (positionals.length) throw new CliError(`unexpected argument "${positionals[0]}"`);
}
