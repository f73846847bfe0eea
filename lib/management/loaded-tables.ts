// The Loaded tables panel's answer: what a database connection's loads wrote, read from the
// customer's own `_dde_loads` (the ledger committed with the rows), per table. DDE signs in with the
// connection's stored password; a database that cannot be read is an answer too (`error`), not a
// failed request, so the page says why while the rest of it works.
import type { Connection } from '@/db/schema';
import { decryptSecret, SecretDecryptionError } from '@/lib/crypto';
import { databaseSettingsOf } from '@/lib/destinations/database/destination';
import { LoadError } from '@/lib/destinations/database/errors';
import { readLoadedTables } from '@/lib/destinations/database/load';
import { AppError } from '@/lib/http/errors';
import type { LoadedTables } from './responses';

export async function loadedTablesOf(c: Connection): Promise<Omit<LoadedTables, 'read_at'>> {
  if (c.kind !== 'postgres' && c.kind !== 'mysql')
    throw new AppError('conflict', 'Only a database connection (PostgreSQL, MySQL) loads tables; this one delivers files.');
  try {
    const secret = c.secretCiphertext ? decryptSecret(c.secretCiphertext, c.id) : null;
    if (secret?.method !== 'password') return { data: [], error: 'The connection has no stored password; replace its credentials.' };
    const tables = await readLoadedTables(databaseSettingsOf(c), secret.password, c.id);
    return {
      data: tables.map((t) => ({
        table: t.tableName,
        file_type: t.fileType as 'user' | 'campaign' | 'activity',
        rows: t.rows,
        windows: t.windows,
        last_window: {
          start: t.last.windowStart.toISOString(),
          end: t.last.windowEnd.toISOString(),
          export_type: t.last.exportType as 'incremental' | 'historical',
        },
        last_rows: t.last.rows,
        last_loaded_at: t.last.loadedAt.toISOString(),
      })),
      error: null,
    };
  } catch (err) {
    if (err instanceof SecretDecryptionError) return { data: [], error: `DDE cannot use the stored password: ${err.message}` };
    if (err instanceof LoadError) return { data: [], error: `DDE could not read _dde_loads: ${err.message}` };
    throw err;
  }
}
