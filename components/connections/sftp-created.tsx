// What Set Up SFTP shows once the connection is saved: where it exports to, when the first
// delivery arrives, the key files are encrypted to, and where to go next.
'use client';
import Link from 'next/link';
import type { Connection } from '@/lib/management/responses';
import { CONNECTIONS_PATH } from './paths';
import { connectionName, destination } from './describe';

export function SftpCreated({ connection: c, programName }: { connection: Connection; programName: string }) {
  return (
    <div className="mx-auto max-w-2xl space-y-6" data-testid="sftp-created">
      <div className="rounded-xl border border-emerald-200 bg-emerald-50 px-5 py-6 text-center">
        <p className="text-lg font-semibold text-emerald-900" role="status">
          SFTP Connection Active
        </p>
        <p className="mt-1 text-sm text-emerald-800">
          {connectionName(c)} exports {programName}’s data to {destination(c)}. The first delivery arrives after the first window closes;
          the contacts receive an email confirming the set-up.
        </p>
        {c.sftp?.pgp_key ? (
          <p className="mt-2 text-sm break-words text-emerald-800">
            Data files are encrypted to OpenPGP key <span className="font-mono">{c.sftp.pgp_key.fingerprint}</span>.
          </p>
        ) : null}
        <div className="mt-4 flex flex-wrap justify-center gap-2">
          <Link
            href={`${CONNECTIONS_PATH}/${c.id}`}
            className="inline-flex rounded-lg bg-brand-600 px-3.5 py-2 text-sm font-semibold text-white shadow-xs hover:bg-brand-700"
          >
            View connection
          </Link>
          <Link
            href={CONNECTIONS_PATH}
            className="inline-flex rounded-lg bg-white px-3.5 py-2 text-sm font-semibold text-slate-800 shadow-xs ring-1 ring-slate-300 ring-inset hover:bg-slate-50"
          >
            Back to connections
          </Link>
        </div>
      </div>
    </div>
  );
}
