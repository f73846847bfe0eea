// A worker process that exports one run (executeExportRun) — killed with SIGKILL by the fault tests.
import { createDb } from '@/db/client';
import { executeExportRun } from '@/lib/runs/export-run';

const [runId] = process.argv.slice(2);
const database = createDb(process.env.TEST_RUN_DATABASE_URL!, { max: 3 });
executeExportRun(database, runId).then(
  async (outcome) => {
    console.log(JSON.stringify(outcome));
    await database.sql.end();
    process.exit(0);
  },
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
