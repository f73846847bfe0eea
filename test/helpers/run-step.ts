// A worker process that runs one step of one run, as the jobs worker's handlers do: `export <runId>`
// (executeExportRun) or `deliver <runId>` (executeDelivery), with the configuration of its
// environment (database, storage, DDE_TEST_FREEZE_AT). It prints the step's outcome as the last line.
import { createDb } from '@/db/client';
import { env } from '@/lib/env';
import { executeDelivery } from '@/lib/runs/deliver-run';
import { executeExportRun } from '@/lib/runs/export-run';

const [step, runId] = process.argv.slice(2);
const database = createDb(env().databaseUrl!, { max: 4 });
const work = step === 'deliver' ? executeDelivery(database, runId) : executeExportRun(database, runId);
work.then(
  async (outcome) => {
    process.stdout.write(`OUTCOME ${JSON.stringify(outcome)}\n`);
    await database.sql.end();
    process.exit(0);
  },
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
