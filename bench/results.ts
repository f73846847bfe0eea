// Shared by the benchmarks: the machine line and appending figures to bench/RESULTS.md.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');

export function machine(): string {
  return `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Appends a dated section to bench/RESULTS.md. */
export function appendResults(benchmark: string, lines: string[]): void {
  if (!existsSync(file))
    writeFileSync(
      file,
      '# Benchmark results\n\nAppended by `npm run bench:<name>`; newest last. Ratios compare our code with a reference on the same data in the same run (see docs/performance.md).\n',
    );
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  appendFileSync(file, `\n## ${benchmark} — ${stamp} — ${machine()}\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`);
}
