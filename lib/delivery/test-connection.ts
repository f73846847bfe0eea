// "Test connection" at set-up: every step the delivery will need, reported one by one, and the
// server's host key fingerprint captured so that it can be pinned for every later delivery.
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
  timeouts?: Partial<SftpTimeouts>;
  signal?: AbortSignal;
};

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
  const report = (fingerprint?: string): ConnectionTestReport => {
    const list = [...steps.values()];
    const failed = list.find((s) => s.status === 'failed');
    return { ok: !failed, hostKeyFingerprint: fingerprint, steps: list, ...(failed?.error ? { error: failed.error } : {}) };
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
      pinnedFingerprint: input.expectedFingerprint,
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
