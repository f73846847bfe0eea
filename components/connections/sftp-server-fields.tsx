// Set Up SFTP's server fields: host (a pasted sftp://user@host:2222/folder address is split into the
// fields, and the form says what it understood), port, destination folder and username, with their checks.
'use client';
import { describeServerAddress, namesMoreThanHost, parseServerAddress, resolveServerAddress } from '@/lib/connections/server-address';
import { fieldError, Field, inputClass } from '@/components/ui/primitives';
import { checkCredentials } from './credential-fields';

export type Server = {
  host: string;
  port: string;
  folder: string;
  username: string;
  method: 'password' | 'private_key';
  password: string;
  key: string;
  passphrase: string;
};

/**
 * The server field split into the fields a pasted address names (sftp://user@host:2222/folder), with
 * what was understood; or the field with the problem. The same rule as the API's
 * (lib/connections/server-address.ts). The port field counts as given only once the admin changed it.
 */
export function splitServer(s: Server, portTouched: boolean): { server: Server; note: string | null } | { field: string; message: string } {
  const port = portTouched && /^\d+$/.test(s.port.trim()) ? Number(s.port) : undefined;
  const r = resolveServerAddress({ host: s.host, port, folder: s.folder, username: s.username });
  if (!r.ok) return r.problem;
  if (!namesMoreThanHost(s.host, r.address)) return { server: s, note: null };
  return {
    server: {
      ...s,
      host: r.server.host,
      port: String(r.server.port),
      folder: r.server.folder ?? s.folder,
      username: r.server.username ?? s.username,
    },
    note: describeServerAddress(r.server),
  };
}

/** The fields a pasted server address fills in (its refusal is shown on one of them). */
export const ADDRESS_FIELDS = ['host', 'port', 'folder', 'username'];

export function checkServer(s: Server): Record<string, string> {
  const e: Record<string, string> = {};
  const address = parseServerAddress(s.host);
  if (!address.ok) e.host = address.problem;
  const port = Number(s.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) e.port = 'Enter a port between 1 and 65535.';
  if (!s.folder.trim()) e.folder = 'Enter the destination folder.';
  if (!s.username.trim()) e.username = 'Enter the user name.';
  return { ...e, ...checkCredentials(s) };
}

/** The server's address fields; `onHostBlur` splits a pasted address. */
export function ServerAddressFields({
  input,
  note,
  errors,
  onHostBlur,
}: {
  input: (k: 'host' | 'port' | 'folder' | 'username') => { value: string; onChange: (e: { target: { value: string } }) => void };
  note: string | null;
  errors: Record<string, string>;
  onHostBlur: () => void;
}) {
  return (
    <div className="grid grid-cols-1 gap-5 sm:grid-cols-[minmax(0,1fr)_8rem]">
      <Field
        label="Server host"
        error={fieldError(errors, 'host')}
        hint={
          note ? (
            <span className="inline-flex items-start gap-1 font-medium text-emerald-800" role="status" data-testid="server-address-note">
              <svg
                aria-hidden
                viewBox="0 0 20 20"
                className="mt-px size-3.5 shrink-0"
                fill="none"
                stroke="currentColor"
                strokeWidth={2.2}
                strokeLinecap="round"
                strokeLinejoin="round"
              >
                <path d="M4.5 10.5l3.5 3.5 7.5-8" />
              </svg>
              {note}
            </span>
          ) : (
            'Host name or IP address, e.g. sftp.example.com; a pasted sftp://host:port/folder address is split for you.'
          )
        }
      >
        {(p) => <input {...p} {...input('host')} onBlur={onHostBlur} className={inputClass} autoComplete="off" spellCheck={false} />}
      </Field>
      <Field label="Port" error={fieldError(errors, 'port')}>
        {(p) => <input {...p} {...input('port')} type="number" min={1} max={65535} inputMode="numeric" className={inputClass} />}
      </Field>
      <Field
        label="Destination folder"
        className="sm:col-span-2"
        error={fieldError(errors, 'folder')}
        hint="The folder on the server that receives the files; it must exist and be writable."
      >
        {(p) => (
          <input {...p} {...input('folder')} className={inputClass} placeholder="exports/firstup" autoComplete="off" spellCheck={false} />
        )}
      </Field>
      <Field label="Username" className="sm:col-span-2" error={fieldError(errors, 'username')}>
        {(p) => <input {...p} {...input('username')} className={inputClass} autoComplete="off" spellCheck={false} />}
      </Field>
    </div>
  );
}
