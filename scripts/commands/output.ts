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
