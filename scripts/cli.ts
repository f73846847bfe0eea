// The `dde` command line. Each command lives in scripts/commands/<name>.ts and exports
// `summary`, `usage` and `run(argv)`; arguments are validated with zod inside each command.
import pkg from '@/package.json';
import { CliError } from './commands/args';

const COMMANDS = ['status', 'migrate', 'seed', 'users', 'export', 'tokens', 'clients', 'keys', 'verify', 'pull'] as const;
type CommandModule = { summary: string; usage: string; run: (argv: string[]) => Promise<void> };

function mainHelp(summaries: Record<string, string>): string {
  return [
    'Usage: dde <command> [options]',
    '',
    'Commands:',
    ...Object.entries(summaries).map(([name, s]) => `  ${name.padEnd(10)} ${s}`),
    '',
    'Run `dde <command> --help` for the options of a command; `dde --version` prints the version.',
  ].join('\n');
}

async function load(name: string): Promise<CommandModule | undefined> {
  try {
    return (await import(`./commands/${name}.ts`)) as CommandModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(err).includes(`commands/${name}`)) return undefined;
    throw err;
  }
}

async function main() {
  const [name, ...argv] = process.argv.slice(2);
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`dde ${pkg.version}`);
    return;
  }
  const available: Record<string, CommandModule> = {};
  for (const c of COMMANDS) {
    const mod = await load(c);
    if (mod) available[c] = mod;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp(Object.fromEntries(Object.entries(available).map(([k, m]) => [k, m.summary]))));
    return;
  }
  const cmd = available[name];
  if (!cmd) throw new CliError(`unknown command "${name}". Run \`dde --help\` for the list.`);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(cmd.usage);
    return;
  }
  await cmd.run(argv);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(`dde: ${err.message}`);
      process.exit(2);
    }
    // Database errors wrap the failing statement: print the cause, not the SQL.
    const e = err as Error & { cause?: Error };
    const message = e.cause?.message ?? e.message ?? String(err);
    console.error(`dde: ${message.length > 500 ? message.slice(0, 500) + '…' : message}`);
    process.exit(1);
  },
);
