// "Test connection" at set-up: every step the delivery will need, reported one by one, and the
// server's host key fingerprint captured so that it can be pinned for every later delivery.
//
// Two steps, so that no credential is sent to a server nobody has vouched for: with hostKeyOnly
// and no fingerprint the test connects, takes the host key and stops before authentication (phase
// "host_key"); once the admin confirms the key, the test runs again with it pinned and signs in,
// checks the folder and writes a probe file (phase "complete").
import { randomBytes } from 'node:crypto';
import { DeliveryAbortedError, DeliveryError, type DeliveryErrorCode } from './errors';
import { destinationFolderProblem, normalizeDestinationFolder, remotePathIn } from './folder';
import { ConnectStepError, openSftpSession, type SessionStep, type SftpAuth, type SftpSession, type SftpTimeouts } from './session';

export const CONNECTION_TEST_STEPS = ['resolve', 'connect', 'handshake', 'authenticate', 'folder_exists', 'folder_writable'] as const;
export type ConnectionTestStep = (typeof CONNECTION_TEST_STEPS)[number];

const LABELS: Record<ConnectionTestStep, string> = {
  resolve: 'Resolve the host name',
  connect: 'Open a TCP connection',
  handshake: 'SSH handshake and host key',
  authenticate: 'Sign in',
  folder_exists: 'Destination folder exists',
  folder_writable: 'Destination folder is writable',
};

export type StepError = { code: DeliveryErrorCode; retryable: boolean; message: string };

export type ConnectionTestStepResult = {
  step: ConnectionTestStep;
  label: string;
  status: 'ok' | 'failed' | 'skipped';
  durationMs?: number;
  /** What was found: the address, the fingerprint, the resolved folder. */
  detail?: string;
  error?: StepError;
};

export type ConnectionTestReport = {
  ok: boolean;
  /**
   * "host_key": no fingerprint was given, so the test stopped after the handshake (nothing was sent);
   * confirm hostKeyFingerprint and test again with it. "complete": every step ran (or one failed).
   */
  phase: 'host_key' | 'complete';
  /** "SHA256:…" as OpenSSH prints it; present once the handshake got that far. Pin it when the test passes. */
  hostKeyFingerprint?: string;
  steps: ConnectionTestStepResult[];
  /** The first failure, when any. */
  error?: StepError;
};

export type TestConnectionInput = {
  host: string;
  port: number;
  username: string;
  auth: SftpAuth;
  folder: string;
  /** When given (re-test of an existing connection), a different host key fails the handshake step. */
  expectedFingerprint?: string;
  /**
   * Without expectedFingerprint: stop after the handshake and report the host key, sending no
   * credential ("Test connection" step one; the route always sets it when no key is confirmed).
   */
  hostKeyOnly?: boolean;
  timeouts?: Partial<SftpTimeouts>;
  signal?: AbortSignal;
};

/** A fingerprint no host key has (43 base64 characters of a SHA-256 would have to be all "A"). */
const PROBE_FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

function errorOf(err: DeliveryError): StepError {
  return { code: err.code, retryable: err.retryable, message: err.message };
}

/** Runs every step a delivery needs and reports each; never throws for a server fault (only on abort). */
export async function testConnection(input: TestConnectionInput): Promise<ConnectionTestReport> {
  const steps = new Map<ConnectionTestStep, ConnectionTestStepResult>(
    CONNECTION_TEST_STEPS.map((s) => [s, { step: s, label: LABELS[s], status: 'skipped' }]),
  );
  let clock = performance.now();
  const lap = () => {
    const t = performance.now();
    const d = Math.round(t - clock);
    clock = t;
    return d;
  };
  const pass = (step: ConnectionTestStep, detail?: string) => Object.assign(steps.get(step)!, { status: 'ok', durationMs: lap(), detail });
  const failStep = (step: ConnectionTestStep, err: DeliveryError) =>
    Object.assign(steps.get(step)!, { status: 'failed', durationMs: lap(), error: errorOf(err) });
  const probeOnly = Boolean(input.hostKeyOnly) && !input.expectedFingerprint;
  const report = (fingerprint?: string): ConnectionTestReport => {
    const list = [...steps.values()];
    const failed = list.find((s) => s.status === 'failed');
    return {
      ok: !failed,
      phase: probeOnly ? 'host_key' : 'complete',
      hostKeyFingerprint: fingerprint,
      steps: list,
      ...(failed?.error ? { error: failed.error } : {}),
    };
  };

  const folderProblem = destinationFolderProblem(input.folder);
  if (folderProblem) {
    failStep(
      'folder_exists',
      new DeliveryError('folder_missing', `The destination folder is not valid: ${folderProblem}`, { stage: 'folder' }),
    );
    return report();
  }
  const folder = normalizeDestinationFolder(input.folder);

  let session: SftpSession;
  let fingerprint: string | undefined;
  try {
    session = await openSftpSession({
      host: input.host,
      port: input.port,
      username: input.username,
      auth: input.auth,
      // Without a confirmed key, pin one no server has: ssh2 then hangs up right after the key
      // exchange, before any credential is sent, and the key it saw is the answer.
      pinnedFingerprint: probeOnly ? PROBE_FINGERPRINT : input.expectedFingerprint,
      folder,
      timeouts: input.timeouts,
      signal: input.signal,
      onStep: (step: SessionStep, info) => {
        if (step === 'handshake') fingerprint = info.fingerprint;
        pass(step, step === 'resolve' ? info.address : step === 'handshake' ? info.fingerprint : undefined);
      },
    });
  } catch (err) {
    if (err instanceof ConnectStepError) {
      if (probeOnly && err.step === 'handshake' && err.error.code === 'host_key_mismatch' && err.fingerprint) {
        pass('handshake', err.fingerprint);
        return report(err.fingerprint);
      }
      failStep(err.step, err.error);
      return report(err.fingerprint ?? fingerprint);
    }
    throw err;
  }

  try {
    let st;
    try {
      st = await session.stat(folder, 'folder');
    } catch (err) {
      if (err instanceof DeliveryError) {
        failStep('folder_exists', err);
        return report(fingerprint);
      }
      throw err;
    }
    if (!st.isDirectory) {
      failStep(
        'folder_exists',
        new DeliveryError('folder_missing', `"${folder}" exists on the SFTP server but is not a folder.`, { stage: 'folder' }),
      );
      return report(fingerprint);
    }
    pass('folder_exists', folder);

    const probe = remotePathIn(folder, `.dde-write-test-${randomBytes(6).toString('hex')}`);
    let created = false;
    try {
      const handle = await session.openForWrite(probe);
      created = true;
      const content = Buffer.from('DDE write test. This file is removed right away.\n');
      await session.write(handle, content, 0, probe);
      await session.closeHandle(handle, probe);
      const written = await session.stat(probe, 'verify');
      if (written.size !== content.length) {
        throw new DeliveryError('unknown', 'The SFTP server did not store the test file completely.', { stage: 'verify' });
      }
      await session.unlink(probe);
      created = false;
      pass('folder_writable', folder);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      if (created && session.isOpen) await session.unlink(probe, { abortable: false, timeoutMs: 5_000 }).catch(() => undefined);
      failStep('folder_writable', err);
    }
    return report(fingerprint);
  } catch (err) {
    if (err instanceof DeliveryAbortedError) throw err;
    throw err;
  } finally {
    await session.end();
  }
}

const PRE_AUTH_STEPS: readonly ConnectionTestStep[] = ['resolve', 'connect', 'handshake'];

export const COARSE_CONNECT_FAILURE =
  'Could not open an SSH session with the SFTP server: it is unreachable, refused the connection, timed out, is not allowed as a ' +
  'destination, or presented a host key other than the one given. Check the host, the port and the fingerprint.';

/**
 * The report as API tokens see it: no resolved addresses, no timings, and one coarse failure for
 * anything before authentication, so that "Test connection" cannot serve as a port scanner.
 */
export function coarseConnectionReport(report: ConnectionTestReport): ConnectionTestReport {
  const failedEarly = report.steps.some((s) => s.status === 'failed' && PRE_AUTH_STEPS.includes(s.step));
  const coarse: StepError = { code: 'unknown', retryable: true, message: COARSE_CONNECT_FAILURE };
  const steps = report.steps.map((s): ConnectionTestStepResult => {
    const base = { step: s.step, label: s.label };
    if (failedEarly && PRE_AUTH_STEPS.includes(s.step)) {
      return s.step === 'connect' ? { ...base, status: 'failed', error: coarse } : { ...base, status: 'skipped' };
    }
    return { ...base, status: s.status, ...(s.error ? { error: s.error } : {}) };
  });
  const failed = steps.find((s) => s.status === 'failed');
  return {
    ok: report.ok,
    phase: report.phase,
    ...(failedEarly ? {} : { hostKeyFingerprint: report.hostKeyFingerprint }),
    steps,
    ...(failed?.error ? { error: failed.error } : {}),
  };
}
