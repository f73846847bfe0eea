// What went wrong talking to a customer's database, in words an admin acts on, and whether trying
// again later can help: a refused connection, a timeout, a lock held by someone else, a
// serialization failure or the server going away mid-load are retryable; a wrong password, a
// missing privilege (with the GRANT that fixes it) or an incompatible existing column (named) are
// not — only a person can fix those.
export type LoadErrorCode =
  | 'connect' // refused, unreachable, timed out, TLS failure
  | 'auth' // authentication failed
  | 'not_found' // the database or schema does not exist
  | 'privilege' // a privilege the loads need is missing
  | 'incompatible' // an existing column cannot hold the export's values
  | 'busy' // a lock held by someone else, a deadlock, a serialization failure
  | 'interrupted' // the server went away or the connection was closed mid-load
  | 'refused' // the outbound policy refuses the address
  | 'data' // the file does not match what was recorded (checksum, rows, header)
  | 'unknown';

export class LoadError extends Error {
  readonly code: LoadErrorCode;
  readonly retryable: boolean;
  /** What to run or change, when known (`GRANT CREATE ON SCHEMA dde TO loader`). */
  readonly fix: string | null;
  constructor(code: LoadErrorCode, message: string, opts: { retryable?: boolean; fix?: string | null; cause?: unknown } = {}) {
    super(opts.fix ? `${message} — ${opts.fix}` : message, { cause: opts.cause });
    this.name = 'LoadError';
    this.code = code;
    this.retryable = opts.retryable ?? RETRYABLE[code];
    this.fix = opts.fix ?? null;
  }
}

const RETRYABLE: Record<LoadErrorCode, boolean> = {
  connect: true,
  auth: false,
  not_found: false,
  privilege: false,
  incompatible: false,
  busy: true,
  interrupted: true,
  refused: false,
  data: false,
  unknown: true,
};

export type ErrorContext = { user: string; database: string; schema: string | null };

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT']);
const INTERRUPT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'PROTOCOL_CONNECTION_LOST',
]);

function networkError(err: { code?: string; message?: string }, cause: unknown): LoadError | null {
  const code = err.code ?? '';
  if (NETWORK_CODES.has(code)) return new LoadError('connect', `Could not connect to the database: ${err.message ?? code}`, { cause });
  if (INTERRUPT_CODES.has(code))
    return new LoadError('interrupted', `The connection to the database was lost: ${err.message ?? code}`, { cause });
  if (/certificate|self[- ]signed|SSL|TLS/i.test(err.message ?? '') || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))
    return new LoadError('connect', `TLS failed: ${err.message}`, { cause });
  return null;
}

/** A PostgreSQL (postgres.js) error as a LoadError. */
export function classifyPostgresError(err: unknown, ctx: ErrorContext): LoadError {
  if (err instanceof LoadError) return err;
  const e = err as { code?: string; message?: string; severity?: string; routine?: string };
  const net = !e.severity ? networkError(e, err) : null;
  if (net) return net;
  const code = e.code ?? '';
  const msg = e.message ?? String(err);
  const schema = ctx.schema ?? 'public';
  if (code === '28P01' || code === '28000')
    return new LoadError('auth', `Authentication failed for user ${ctx.user}: ${msg}`, { cause: err });
  if (code === '3D000') return new LoadError('not_found', msg, { fix: `CREATE DATABASE ${ctx.database}`, cause: err });
  if (code === '3F000') return new LoadError('not_found', msg, { fix: `CREATE SCHEMA ${schema} AUTHORIZATION ${ctx.user}`, cause: err });
  if (code === '42501') {
    const onTable = /permission denied for (?:table|relation) (\S+)/.exec(msg);
    const onSchema = /permission denied for schema (\S+)/.exec(msg);
    const onDatabase = /permission denied (?:for database|to create temporary tables in database) (\S+)/.exec(msg);
    const fix = onTable
      ? `GRANT SELECT, INSERT, UPDATE ON ${schema}.${onTable[1]} TO ${ctx.user}`
      : onSchema
        ? `GRANT USAGE, CREATE ON SCHEMA ${onSchema[1]} TO ${ctx.user}`
        : onDatabase
          ? `GRANT TEMPORARY ON DATABASE ${onDatabase[1].replace(/"/g, '')} TO ${ctx.user}`
          : null;
    return new LoadError('privilege', msg, { fix, cause: err });
  }
  if (code === '42P07' || code === '23505' || code === '42710') return new LoadError('busy', msg, { cause: err }); // a concurrent create
  if (['55P03', '40001', '40P01', '57014'].includes(code)) return new LoadError('busy', msg, { cause: err });
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '53400'].includes(code))
    return new LoadError('interrupted', msg, { cause: err });
  if (code.startsWith('53')) return new LoadError('busy', msg, { cause: err });
  if (code === '42804' || code === '42846' || code === '22P02' || code === '23502')
    return new LoadError('incompatible', msg, { cause: err });
  return new LoadError('unknown', msg, { cause: err });
}

/** A MySQL / MariaDB (mysql2) error as a LoadError. */
export function classifyMysqlError(err: unknown, ctx: ErrorContext & { host?: string }): LoadError {
  if (err instanceof LoadError) return err;
  const e = err as { code?: string; errno?: number; message?: string; sqlMessage?: string; fatal?: boolean; sqlState?: string };
  const msg = e.sqlMessage ?? e.message ?? String(err);
  // The driver's error carries the statement, which for a batch holds the rows' values: keep only its codes.
  err = { code: e.code, errno: e.errno, sqlState: e.sqlState, message: msg };
  if (!e.errno || e.code === 'PROTOCOL_CONNECTION_LOST') {
    const net = networkError(e, err);
    if (net) return net;
  }
  const account = `'${ctx.user}'@'%'`;
  switch (e.errno) {
    case 1045:
    case 1698:
      return new LoadError('auth', `Authentication failed: ${msg}`, { cause: err });
    case 1049:
      return new LoadError('not_found', msg, { fix: `CREATE DATABASE ${ctx.database}`, cause: err });
    case 1044:
      return new LoadError('privilege', msg, { fix: `GRANT ALL ON ${ctx.database}.* TO ${account}`, cause: err });
    case 1142:
    case 1143: {
      // "INSERT command denied to user 'loader'@'localhost' for table `db`.`activity`"
      const m =
        /^(\w+(?:, \w+)*) command denied to user '([^']*)'@'([^']*)'(?: for (?:table|column) [`']?(?:[^`'.]+[`']?\.[`']?)?([^`']+)[`']?)?/i.exec(
          msg,
        );
      const what = m ? m[1].toUpperCase() : 'CREATE, ALTER, INDEX, SELECT, INSERT, UPDATE, CREATE TEMPORARY TABLES';
      const who = m ? `'${m[2]}'@'${m[3]}'` : account;
      const on = m?.[4] && !/^dde_stage_/.test(m[4]) ? `${ctx.database}.${m[4]}` : `${ctx.database}.*`;
      return new LoadError('privilege', msg, { fix: `GRANT ${what} ON ${on} TO ${who}`, cause: err });
    }
    case 1227:
      return new LoadError('privilege', msg, { cause: err });
    case 1205: // lock wait timeout
    case 1213: // deadlock
    case 1020: // record changed (serialization)
    case 3572: // NOWAIT
    case 1040: // too many connections
      return new LoadError('busy', msg, { cause: err });
    case 1053: // server shutdown in progress
    case 1927: // connection killed (MariaDB)
    case 1317: // query interrupted
    case 2006:
    case 2013:
      return new LoadError('interrupted', msg, { cause: err });
    case 1366:
    case 1292:
    case 1264:
    case 1406:
    case 3140:
    case 4025:
      return new LoadError('incompatible', msg, { cause: err });
  }
  if (e.fatal) return new LoadError('interrupted', msg, { cause: err });
  return new LoadError('unknown', msg, { cause: err });
}
