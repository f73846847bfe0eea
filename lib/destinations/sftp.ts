// SFTP as a destination: the client in lib/delivery (pinned host key, temporary name, size check,
// rename under the fence), unchanged, behind the destination interface.
import type { Connection } from '@/db/schema';
import type { ConnectionSecret, SftpSecret } from '@/lib/crypto';
import { describeSftpDestination, sftpDestinationOf } from '@/lib/describe-connection';
import {
  deliverFiles,
  DeliveryError,
  testConnection,
  type ConnectionTestReport,
  type DeliverFilesInput,
  type DeliveryResult,
  type TestConnectionInput,
} from '@/lib/delivery';
import type { DestinationTestReport, PushedDestination } from './types';

function sftpSecret(secret: ConnectionSecret | null): SftpSecret {
  if (secret && (secret.method === 'password' || secret.method === 'private_key')) return secret;
  throw new DeliveryError('auth_failed', 'The stored SFTP credential is not a password or private key; replace the credentials.');
}

/** The SFTP destination; tests may put a transfer or a test of their own in place of the real client. */
export function sftpDestination(
  use: {
    deliver?: (input: DeliverFilesInput) => Promise<DeliveryResult>;
    test?: (input: TestConnectionInput) => Promise<ConnectionTestReport>;
  } = {},
): PushedDestination {
  const deliver = use.deliver ?? deliverFiles;
  const test = use.test ?? testConnection;
  const runTest = async (c: Connection, secret: ConnectionSecret | null, signal?: AbortSignal, timeouts?: Record<string, number>) => {
    const report = await test({
      ...sftpDestinationOf(c),
      auth: sftpSecret(secret),
      expectedFingerprint: c.hostKeyFingerprint ?? undefined,
      signal,
      timeouts,
    });
    return report satisfies DestinationTestReport;
  };
  return {
    kind: 'sftp',
    pushes: true,
    secretLabel: 'password or key',
    describe: (c) => describeSftpDestination(sftpDestinationOf(c)),
    test: ({ connection, secret, signal, timeouts }) => runTest(connection, secret, signal, timeouts),
    async check({ connection, secret, signal, timeouts }) {
      let report: DestinationTestReport;
      try {
        report = await runTest(connection, secret, signal, timeouts);
      } catch (err) {
        if (err instanceof DeliveryError) return { ok: false, code: err.code, message: err.message };
        throw err;
      }
      if (report.ok) return { ok: true };
      return { ok: false, code: report.error?.code ?? 'unknown', message: report.error?.message ?? 'The test failed.' };
    },
    async deliver(input) {
      const c = input.connection;
      const result = await deliver({
        destination: sftpDestinationOf(c),
        auth: sftpSecret(input.secret),
        pinnedFingerprint: c.hostKeyFingerprint!,
        files: input.files,
        signal: input.signal,
        timeouts: input.timeouts,
        onProgress: input.onProgress,
        claim: input.run.claim,
        fence: input.fence,
      });
      return { files: result.files, bytes: result.bytes, durationMs: result.durationMs };
    },
    classify: (err) =>
      err instanceof DeliveryError
        ? err
        : new DeliveryError('unknown', `The SFTP delivery failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }),
  };
}
