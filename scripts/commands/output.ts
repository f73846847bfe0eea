// What commands print: aligned tables, instants, and a progress line on stderr.

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
