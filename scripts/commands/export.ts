// dde export: write a program's export files for a time range into a directory — exactly what a
// scheduled run writes (the same generateExportFiles), one run per window when --frequency is given.
import { randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FORMATS, FREQUENCIES } from '@/db/schema/connections';
import { EXPORT_TYPES } from '@/db/schema/exports';
import { findProgram } from '@/db/queries/auth';
import { generateExportFiles, isExportAborted, isoSeconds, selectSql, type DataFileType } from '@/lib/exports';
import { LocalStorage } from '@/lib/storage';
import { windowsOf, type Window } from '@/lib/windows';
import { CliError, noPositionals, parseCommand } from './args';
import { withDatabase } from './database';
import { progress } from './output';

export const summary = 'Write export files for a program and time range';
export const usage = `Usage: dde export --program ID --from ISO --to ISO --out DIR [options]

Writes the files a scheduled run would write for [from, to): gzipped user, campaign and
activity files, a .sha256 beside each, and the manifest last. Rows are selected by update time
(users, campaigns) and ingestion time (activity), as in scheduled runs.

Options:
  --program ID          program id (required)
  --from ISO            start of the range, inclusive: 2026-11-28T08:00:00Z or 2026-11-28 (UTC)
  --to ISO              end of the range, exclusive
  --out DIR             directory for the files (created if missing)
  --type TYPE           all (default) | users | campaigns | activity
  --format FORMAT       csv (default) | jsonl | xlsx | parquet
  --export-type TYPE    incremental (default) | historical — the word in the file names
  --frequency FREQ      every_4_hours | daily | weekly | monthly: one run per window of the range
                        (aligned like a connection whose start date is --from); default: one run`;

const instant = z
  .string()
  .refine(
    (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/.test(v),
    'must be an ISO 8601 date (2026-11-28) or instant with a zone (2026-11-28T08:00:00Z)',
  )
  .refine((v) => {
    // The calendar date must exist: JavaScript would roll 2026-02-30 over to March.
    const [y, m, d] = v.slice(0, 10).split('-').map(Number);
    const day = new Date(Date.UTC(y, m - 1, d));
    return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
  }, 'is not a valid date')
  .transform((v) => new Date(v))
  .refine((d) => !Number.isNaN(d.getTime()), 'is not a valid date');

const TYPES = { all: ['user', 'campaign', 'activity'], users: ['user'], campaigns: ['campaign'], activity: ['activity'] } as const;

const argsSchema = z
  .object({
    program: z
      .string({ error: 'is required' })
      .regex(/^[1-9]\d{0,15}$/, 'must be a program id (a positive integer)')
      .transform(Number),
    from: instant,
    to: instant,
    out: z.string({ error: 'is required' }).min(1, 'is required'),
    type: z.enum(['all', 'users', 'campaigns', 'activity']).default('all'),
    format: z.enum(FORMATS).default('csv'),
    'export-type': z.enum(EXPORT_TYPES).default('incremental'),
    frequency: z.enum(FREQUENCIES).optional(),
  })
  // zod still runs this when a field failed, with the raw string: only compare two dates.
  .refine((v) => !(v.from instanceof Date && v.to instanceof Date) || v.from.getTime() < v.to.getTime(), {
    path: ['from'],
    message: 'must be before --to',
  });

const options = {
  program: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  type: { type: 'string' },
  format: { type: 'string' },
  'export-type': { type: 'string' },
  frequency: { type: 'string' },
} as const;

/** Refuses an output directory we could not write into, without leaving anything behind. */
function checkWritable(dir: string): void {
  let probeDir = dir;
  while (!existsSync(probeDir)) {
    const parent = path.dirname(probeDir);
    if (parent === probeDir) break;
    probeDir = parent;
  }
  const st = statSync(probeDir, { throwIfNoEntry: false });
  if (!st || !st.isDirectory()) {
    throw new CliError(`--out: ${dir} is not a writable directory (${probeDir} is not a directory)`);
  }
  const probe = path.join(probeDir, `.dde-write-check-${process.pid}`);
  try {
    accessSync(probeDir, constants.W_OK);
    writeFileSync(probe, '');
  } catch (err) {
    throw new CliError(`--out: ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    rmSync(probe, { force: true });
  }
}

const human = (n: number) => n.toLocaleString('en-US');

export async function run(argv: string[]) {
  const { values, positionals } = parseCommand(argv, options, argsSchema);
  noPositionals(positionals);
  const out = path.resolve(values.out);
  checkWritable(out);
  const fileTypes: readonly DataFileType[] = TYPES[values.type];
  const windows: Window[] = values.frequency
    ? windowsOf({ frequency: values.frequency, startDate: values.from, endDate: values.to })
    : [{ start: values.from, end: values.to }];

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await withDatabase(
      async ({ db, sql }) => {
        const program = await findProgram(db, values.program);
        if (!program) throw new CliError(`--program: program ${values.program} was not found`);
        mkdirSync(out, { recursive: true });
        const storage = new LocalStorage(out);
        const bar = progress('export');
        // Counted first, so the progress line can show percent done and time left.
        const generatedAt = isoSeconds(new Date());
        let totalRows = 0;
        for (const window of windows)
          for (const fileType of fileTypes) {
            const select = selectSql({ fileType, shape: 'csv', programId: program.id, window, generatedAt, pseudonymKey: null });
            const [{ n }] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from (${select}) q`);
            totalRows += n;
          }
        let files = 0;
        let rows = 0;
        let bytes = 0;
        for (const [i, window] of windows.entries()) {
          const label = `${isoSeconds(window.start)} → ${isoSeconds(window.end)}`;
          const result = await generateExportFiles({
            sql,
            storage,
            keyPrefix: '',
            program,
            window,
            exportType: values['export-type'],
            format: values.format,
            runId: randomUUID(),
            connectionId: null,
            // The range's windows are a sequence of their own; these manifests are not signed.
            sequence: i + 1,
            previousWindowEnd: i > 0 ? windows[i - 1].end : null,
            fileTypes,
            signal: controller.signal,
            onProgress: (p) => bar.update(`${label} ${p.fileType}: ${human(p.fileRows)} rows`, rows + p.runRows, totalRows),
          });
          console.log(result.files.length === 0 ? `${label}: no rows, only the manifest` : `${label}:`);
          for (const f of result.files) console.log(`  ${f.name}  ${human(f.rows)} rows  ${human(f.bytes)} bytes`);
          console.log(`  ${result.manifest.name}`);
          files += result.files.length;
          rows += result.rowsTotal;
          bytes += result.bytesTotal;
        }
        bar.done(
          `${windows.length} window${windows.length === 1 ? '' : 's'}, ${files} file${files === 1 ? '' : 's'}, ${human(rows)} rows, ${human(bytes)} bytes in ${out}`,
        );
      },
      { migrate: false },
    );
  } catch (err) {
    if (isExportAborted(err)) throw new CliError('interrupted; the unfinished run left no files behind');
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
