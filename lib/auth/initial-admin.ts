// The first Firstup Super Admin, created on the first start so a fresh install can be signed into.
import type { Database, Db } from '@/db/client';
import { countFirstupAdmins, findAccountByEmail, insertAccount, lockInitialAdmin } from '@/db/queries/auth';
import { env } from '@/lib/env';
import { generateOneTimePassword, hashPassword } from './passwords';

export type InitialAdmin = { email: string; password: string; generated: boolean };

function asDb(database: Database | Db): Db {
  return 'sql' in database && 'db' in database ? database.db : database;
}

/**
 * Creates the initial Firstup Super Admin when none exists. Returns its credentials only when it
 * created one (the caller prints them once); otherwise null. A generated password must be changed.
 */
export async function ensureInitialAdmin(database: Database | Db): Promise<InitialAdmin | null> {
  const db = asDb(database);
  const { email, password: configured } = env().initialAdmin;
  return db.transaction(async (tx) => {
    // Several processes may start at once: one creates the admin, the others see it.
    await lockInitialAdmin(tx);
    if ((await countFirstupAdmins(tx)) > 0) return null;
    const existing = await findAccountByEmail(tx, email);
    if (existing) {
      throw new Error(
        `DDE_INITIAL_ADMIN_EMAIL ${email} belongs to an existing ${existing.role} account; choose another address for the first Firstup Super Admin.`,
      );
    }
    const password = configured ?? generateOneTimePassword();
    await insertAccount(tx, {
      email,
      name: 'Administrator',
      role: 'firstup_super_admin',
      passwordHash: await hashPassword(password),
      mustChangePassword: configured === undefined,
      programIds: [],
    });
    return { email, password, generated: configured === undefined };
  });
}
