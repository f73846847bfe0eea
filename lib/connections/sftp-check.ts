// The set-up check of an SFTP connection: before it is saved, DDE connects with the given
// credentials, sees the host key the admin confirmed, and proves the folder exists and is
// writable. Any failed step refuses the set-up (or a credential rotation) with that step's message; nothing is saved.
import { testConnection, type ConnectionTestReport, type TestConnectionInput } from '@/lib/delivery';
import { coarseConnectionReport } from '@/lib/delivery/test-connection';
import type { Actor } from '@/lib/auth/actor';
import { AppError } from '@/lib/http/errors';
import { enforceExpensiveLimit } from '@/lib/http/rate-limit';

/** The connection test's input from an SFTP destination as the API names it (set-up body or "Test connection"). */
export function sftpTestInput(
  input: Pick<TestConnectionInput, 'host' | 'port' | 'username' | 'auth' | 'folder'> & { host_key_fingerprint?: string },
): TestConnectionInput {
  return {
    host: input.host,
    port: input.port,
    username: input.username,
    auth: input.auth,
    folder: input.folder,
    expectedFingerprint: input.host_key_fingerprint,
  };
}

/** A check of an SFTP destination with its credentials: resolves when every step passes, else a 422 naming the step. */
export type DestinationCheck = (input: Parameters<typeof sftpTestInput>[0]) => Promise<void>;

/**
 * The set-up check. `budget`: the caller whose connection-test budget (EXPENSIVE_LIMITS, per account
 * or API client, shared by every web process) each run spends before it connects (429 once spent).
 */
export function sftpSetupCheck(
  test: typeof testConnection = testConnection,
  opts: { coarse?: boolean; budget?: Actor } = {},
): DestinationCheck {
  return async (input) => {
    if (opts.budget) await enforceExpensiveLimit('connection_test', opts.budget);
    const full: ConnectionTestReport = await test(sftpTestInput(input));
    // API tokens get coarse failure text (no addresses, timings or reasons before authentication).
    const report = opts.coarse ? coarseConnectionReport(full) : full;
    if (!report.ok) {
      const failed = report.steps.find((s) => s.status === 'failed');
      throw new AppError(
        'validation_failed',
        `The connection test failed at "${failed?.label ?? 'connect'}": ${report.error?.message ?? 'unknown error'}`,
        {
          test: report,
          fields: [
            {
              path: failed?.step === 'folder_exists' || failed?.step === 'folder_writable' ? 'folder' : 'host',
              message: report.error?.message ?? 'Connection test failed.',
            },
          ],
        },
      );
    }
  };
}
