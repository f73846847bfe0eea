// What a CLI command prints with console.log, captured while it runs in this process.
import { vi } from 'vitest';

export async function consoleOutput(run: (argv: string[]) => Promise<void>, argv: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  try {
    await run(argv);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}
