// dde seed: realistic, deterministic synthetic engagement data for one program.
import { z } from 'zod';
import { seedProgram } from '@/lib/seed';
import { parseCommand } from './args';
import { withDatabase } from './database';
import { progress } from './output';

export const summary = 'Seed synthetic users, campaigns and activity events for a program';
export const usage = `Usage: dde seed --program <id> [--users N] [--campaigns N] [--events N] [--days D] [--seed S]
                [--until ISO] [--name TEXT] [--anonymize]

  --program    program id (created when it does not exist)
  --users      users to create (default 1000)
  --campaigns  campaigns to create (default 50)
  --events     activity events (default 100000), spread over the days before --until,
               about 1% arriving hours late
  --days       days of history (default 30)
  --seed       random seed; the same seed and --until give the same data (default 1)
  --until      end of the seeded period (default now)
  --name       program name (new programs only)
  --anonymize  create the program with anonymization on`;

const count = (def: number, max: number) =>
  z.coerce.number().int('must be a whole number').min(0, 'must be 0 or more').max(max, `must be at most ${max}`).default(def);
const schema = z.object({
  program: z
    .string({ error: 'is required' })
    .regex(/^\d+$/, 'must be a numeric program id')
    .transform(Number)
    .pipe(z.number().int().positive('must be a positive id')),
  users: count(1000, 5_000_000),
  campaigns: count(50, 1_000_000),
  events: count(100_000, 500_000_000),
  days: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(3650, 'must be at most 3650').default(30),
  seed: z.coerce.number().int('must be a whole number').default(1),
  until: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-28T00:00:00Z' }).optional(),
  name: z.string().min(1).max(200).optional(),
  anonymize: z.boolean().default(false),
});

export async function run(argv: string[]) {
  const { values: o } = parseCommand(
    argv,
    {
      program: { type: 'string' },
      users: { type: 'string' },
      campaigns: { type: 'string' },
      events: { type: 'string' },
      days: { type: 'string' },
      seed: { type: 'string' },
      until: { type: 'string' },
      name: { type: 'string' },
      anonymize: { type: 'boolean' },
    },
    schema,
  );
  const bar = progress('seed');
  const started = Date.now();
  const result = await withDatabase((database) =>
    seedProgram(
      database,
      {
        programId: o.program,
        programName: o.name,
        anonymize: o.anonymize,
        users: o.users,
        campaigns: o.campaigns,
        events: o.events,
        days: o.days,
        seed: o.seed,
        until: o.until ? new Date(o.until) : undefined,
      },
      (p) => {
        // The whole seed's units: users, then campaigns, then events.
        const before = p.phase === 'users' ? 0 : p.phase === 'campaigns' ? o.users : o.users + o.campaigns;
        bar.update(
          `${p.phase} ${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')}`,
          before + p.done,
          o.users + o.campaigns + o.events,
        );
      },
    ),
  );
  const secs = (Date.now() - started) / 1000;
  bar.done(`done in ${secs.toFixed(1)} s`);
  console.log(
    `Program ${result.programId}: ${result.users} users, ${result.campaigns} campaigns, ${result.events} events (${Math.round(result.events / secs).toLocaleString('en-US')} events/s overall)`,
  );
}
