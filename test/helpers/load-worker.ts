// A worker process that loads one run into a customer's database (loadRun), as a jobs worker's
// delivery would — killed with SIGKILL by the fault tests. Its input is a JSON file (argv[2]):
// settings, password, window, files and the storage folder; it prints the outcome as the last line.
import { readFileSync } from 'node:fs';
import { loadRun } from '@/lib/destinations/database/load';
import { databaseSettingsSchema } from '@/lib/destinations/database/settings';
import { LocalStorage } from '@/lib/storage';

type Input = {
  settings: unknown;
  password: string;
  window: { connectionId: string; runId: string; exportType: 'incremental' | 'historical'; windowStart: string; windowEnd: string };
  files: Parameters<typeof loadRun>[0]['files'];
  storageRoot: string;
};

const input = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Input;
const storage = new LocalStorage(input.storageRoot);
loadRun({
  settings: databaseSettingsSchema.parse(input.settings),
  password: input.password,
  window: { ...input.window, windowStart: new Date(input.window.windowStart), windowEnd: new Date(input.window.windowEnd) },
  files: input.files,
  open: (key) => storage.get(key),
  onFile: (f) => process.stdout.write(`LOADED ${f.fileType} ${f.status}\n`),
}).then(
  (result) => {
    process.stdout.write(`OUTCOME ${JSON.stringify(result.files)}\n`);
    process.exit(0);
  },
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
