// The destination registry: one entry per connection kind (db/schema/enums.ts CONNECTION_KINDS), each
// the kind's implementation of the destination interface (./types.ts). Code that delivers, tests,
// checks or names a destination asks `destinationFor(kind)` and never which kind it is.
import { KIND_PUSHES, type Connection, type ConnectionKind } from '@/db/schema';
import { databaseDestination } from './database/destination';
import { azureDestination } from './azure';
import { s3Destination } from './s3';
import { sftpDestination } from './sftp';
import type { Destination, PulledDestination, PushedDestination } from './types';

export type * from './types';
export { sftpDestination } from './sftp';
export { s3Destination, testS3 } from './s3';
export { azureDestination, testAzure } from './azure';

const api: PulledDestination = { kind: 'api', pushes: false, describe: () => 'Export API' };

const REGISTRY: { [K in ConnectionKind]: Destination & { kind: K; pushes: (typeof KIND_PUSHES)[K] } } = {
  sftp: { ...sftpDestination(), kind: 'sftp', pushes: true },
  api: { ...api, kind: 'api', pushes: false },
  postgres: { ...databaseDestination('postgres'), kind: 'postgres', pushes: true },
  mysql: { ...databaseDestination('mysql'), kind: 'mysql', pushes: true },
  s3: { ...s3Destination(), kind: 's3', pushes: true },
  azure_blob: { ...azureDestination(), kind: 'azure_blob', pushes: true },
};

/** The destination of a connection kind. */
export function destinationFor(kind: ConnectionKind): Destination {
  return REGISTRY[kind];
}

/** The destination of a kind DDE delivers to; throws for a kind whose files are collected (a caller's mistake). */
export function pushedDestinationFor(kind: ConnectionKind): PushedDestination {
  const d = REGISTRY[kind];
  if (!d.pushes) throw new Error(`Connections of kind ${kind} are not delivered to; their files are collected through the export API.`);
  return d;
}

/** Where a connection delivers, as DDE names it everywhere. */
export function describeDestination(c: Connection): string {
  return destinationFor(c.kind).describe(c);
}
