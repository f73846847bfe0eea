// The one error type of SFTP delivery, with the fixed codes the event history shows, and the
// classifier that turns what ssh2 / the network / the SFTP server report into one of them.
// Rule: no message ever carries a password, key or passphrase — only host, port, user, folder.
import { DELIVERY_ERROR_CODES, type DeliveryErrorCode } from '@/db/schema/exports';

export { DELIVERY_ERROR_CODES, type DeliveryErrorCode };

/** Whether trying again later can help. Identity and configuration faults need a person. */
export const RETRYABLE: Record<DeliveryErrorCode, boolean> = {
  auth_failed: false,
  host_key_mismatch: false,
  permission_denied: false,
  folder_missing: false,
  dns: true,
  refused: true,
  timeout: true,
  no_space: true,
  wrong_region: false,
  throttled: true,
  unknown: true,
};

/** Where in the conversation with the server something went wrong. */
export type DeliveryStage =
  'resolve' | 'connect' | 'handshake' | 'authenticate' | 'folder' | 'open' | 'write' | 'verify' | 'rename' | 'remove' | 'close';

export class DeliveryError extends Error {
  readonly retryable: boolean;

  constructor(
    public readonly code: DeliveryErrorCode,
    message: string,
    options: { stage?: DeliveryStage; detail?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeliveryError';
    this.retryable = options.retryable ?? RETRYABLE[code];
    this.stage = options.stage;
    this.detail = options.detail;
  }

  readonly stage: DeliveryStage | undefined;
  /** The underlying library/server message (never secret-bearing), for logs and support. */
  readonly detail: string | undefined;

  toJSON(): { code: DeliveryErrorCode; message: string; retryable: boolean; stage?: DeliveryStage } {
    return { code: this.code, message: this.message, retryable: this.retryable, ...(this.stage ? { stage: this.stage } : {}) };
  }
}

/** Thrown when the caller's AbortSignal stopped a delivery (pause immediately, shutdown). Not a failure. */
export class DeliveryAbortedError extends Error {
  readonly code = 'aborted' as const;
  constructor(message = 'The delivery was stopped before it finished; nothing was left under a final name.') {
    super(message);
    this.name = 'AbortError';
  }
}

export function isDeliveryAborted(err: unknown): err is DeliveryAbortedError {
  return err instanceof DeliveryAbortedError;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02, what OpenSSH speaks). */
export const SFTP_STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

export type Target = { host: string; port: number; username?: string; folder?: string };

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'ESERVFAIL']);
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function where(t: Target): string {
  return `${t.host}:${t.port}`;
}

function errInfo(err: unknown): { message: string; code: unknown; level: unknown } {
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; code?: unknown; level?: unknown };
    return { message: typeof e.message === 'string' ? e.message : String(err), code: e.code, level: e.level };
  }
  return { message: String(err), code: undefined, level: undefined };
}

/** Trims a library message for the `detail` field. */
function detailOf(message: string): string {
  return message.length > 300 ? `${message.slice(0, 297)}...` : message;
}

export type ClassifyContext = {
  stage: DeliveryStage;
  target: Target;
  /** The remote path an SFTP operation was working on (shown in messages). */
  path?: string;
  /** True when the failure came from our own deadline or a keepalive timeout. */
  timedOut?: boolean;
  /** Set when the host key presented did not match the pinned one. */
  hostKeyMismatch?: { presented: string; pinned: string };
  /** Disk facts gathered after an SFTP Failure during a write (statvfs), when the server offers them. */
  disk?: { readOnly: boolean; bytesAvailable: number } | null;
};

/** Maps any error met while delivering to a DeliveryError with one of the fixed codes. */
export function classifyDeliveryError(err: unknown, ctx: ClassifyContext): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const { message, code, level } = errInfo(err);
  const detail = detailOf(message);
  const t = ctx.target;
  const stage = ctx.stage;
  const make = (c: DeliveryErrorCode, msg: string) => new DeliveryError(c, msg, { stage, detail, cause: err });

  if (ctx.hostKeyMismatch) {
    return make(
      'host_key_mismatch',
      `The SFTP server at ${where(t)} presented a different host key (${ctx.hostKeyMismatch.presented}) than the one pinned at set-up ` +
        `(${ctx.hostKeyMismatch.pinned}). Nothing was sent. If the server's key was changed on purpose: Stop the connection, ` +
        `Replace credentials, test and trust the new key, then Start it and retry this run (its history stays). ` +
        `Otherwise treat it as a security incident.`,
    );
  }
  if (level === 'client-authentication' || /authentication methods failed/i.test(message)) {
    return make(
      'auth_failed',
      `The SFTP server at ${where(t)} rejected the credentials for user "${t.username ?? ''}". Check the username, password or key.`,
    );
  }
  if (stage === 'authenticate' && /privateKey|private key|passphrase|Cannot parse/i.test(message)) {
    return make('auth_failed', `The private key for user "${t.username ?? ''}" could not be used: ${keyProblem(message)}.`);
  }
  if (ctx.timedOut || level === 'client-timeout' || code === 'ETIMEDOUT') {
    const during =
      stage === 'connect' || stage === 'resolve'
        ? 'while connecting'
        : stage === 'handshake' || stage === 'authenticate'
          ? 'during the SSH handshake'
          : 'during the transfer';
    return make('timeout', `The SFTP server at ${where(t)} stopped responding ${during}; the attempt was abandoned and will be retried.`);
  }
  if (level === 'client-dns' || (typeof code === 'string' && DNS_CODES.has(code)) || stage === 'resolve') {
    return make('dns', `The host name "${t.host}" could not be resolved (DNS). Check the host name; the attempt will be retried.`);
  }
  if (code === 'ECONNREFUSED') {
    return make(
      'refused',
      `The SFTP server at ${where(t)} refused the connection (nothing is listening on that port, or a firewall rejects it).`,
    );
  }
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return make('refused', `The SFTP server at ${where(t)} could not be reached (${code}).`);
  }
  if (typeof code === 'number') return classifySftpStatus(code, ctx, detail, err);
  if (
    (typeof code === 'string' && LOST_CODES.has(code)) ||
    /No response from server|Connection lost|connection closed|Unexpected end/i.test(message)
  ) {
    return make(
      'unknown',
      `The connection to the SFTP server at ${where(t)} was lost ${stage === 'write' ? 'during the upload' : `(${stage})`}; the attempt will be retried.`,
    );
  }
  return make('unknown', `The SFTP delivery to ${where(t)} failed (${stage}): ${detail}`);
}

function keyProblem(message: string): string {
  if (/passphrase/i.test(message)) return 'it is encrypted and the passphrase is missing or wrong';
  return 'it is not a supported private key (PEM or OpenSSH format)';
}

function classifySftpStatus(status: number, ctx: ClassifyContext, detail: string, cause: unknown): DeliveryError {
  const { stage, path: p } = ctx;
  const opts = { stage, detail, cause };
  const folder = ctx.target.folder ?? '.';
  switch (status) {
    case SFTP_STATUS.NO_SUCH_FILE:
      if (stage === 'folder' || stage === 'open') {
        return new DeliveryError('folder_missing', `The destination folder "${folder}" does not exist on the SFTP server.`, opts);
      }
      return new DeliveryError('unknown', `The SFTP server reported "no such file" for ${p ?? 'a file'} (${stage}).`, opts);
    case SFTP_STATUS.PERMISSION_DENIED:
      return new DeliveryError(
        'permission_denied',
        `The SFTP server denied permission ${stage === 'folder' ? 'to the destination folder' : `to ${stageVerb(stage)}`} "${p ?? folder}". ` +
          'Give the user write access to the folder.',
        opts,
      );
    case SFTP_STATUS.FAILURE: {
      // OpenSSH reports ENOSPC, EDQUOT and EROFS alike as the generic Failure.
      if (ctx.disk?.readOnly) {
        return new DeliveryError('permission_denied', `The destination folder "${folder}" is on a read-only file system.`, opts);
      }
      const spaceEvidence = ctx.disk && ctx.disk.bytesAvailable < 1024 * 1024;
      if (stage === 'write' || stage === 'close' || spaceEvidence) {
        return new DeliveryError(
          'no_space',
          `The SFTP server could not store ${p ?? 'the file'}: its disk is full or the user's quota is exceeded. Nothing was left under the final name; the attempt will be retried.`,
          opts,
        );
      }
      return new DeliveryError(
        'unknown',
        `The SFTP server reported a failure while trying to ${stageVerb(stage)} ${p ?? ''}`.trim() + '.',
        opts,
      );
    }
    case SFTP_STATUS.OP_UNSUPPORTED:
      return new DeliveryError('unknown', `The SFTP server does not support an operation delivery needs (${stage}).`, opts);
    case SFTP_STATUS.NO_CONNECTION:
    case SFTP_STATUS.CONNECTION_LOST:
      return new DeliveryError('unknown', 'The SFTP server lost its connection; the attempt will be retried.', opts);
    default:
      return new DeliveryError(
        'unknown',
        `The SFTP server returned status ${status} while trying to ${stageVerb(stage)} ${p ?? ''}`.trim() + '.',
        opts,
      );
  }
}

function stageVerb(stage: DeliveryStage): string {
  switch (stage) {
    case 'open':
      return 'create';
    case 'write':
      return 'write';
    case 'rename':
      return 'rename';
    case 'remove':
      return 'remove';
    case 'verify':
      return 'check';
    case 'close':
      return 'finish writing';
    default:
      return 'access';
  }
}
