// The SFTP server field as people fill it: a bare host, or whatever they paste — `sftp://user@host:2222/folder`,
// `https://demo.com`, `host:2222`, `[::1]:22`, `user@host`. One pure rule, used by the set-up form
// (which splits the text into the host, port, folder and username fields and says what it understood)
// and by the management API's schemas (lib/connections/schemas.ts), so both read an address the same way.
// Client-safe: no imports. The outbound policy (lib/net/outbound-policy.ts) judges the host it yields.

export const DEFAULT_SFTP_PORT = 22;

/** What an address names. Only `host` is always there; the rest when the text carried it. */
export type ServerAddress = { host: string; port?: number; folder?: string; username?: string };

export type ServerAddressParse = { ok: true; address: ServerAddress } | { ok: false; problem: string };

/** Schemes whose addresses are taken apart; a web address is read for its host (the port stays SSH's unless one is given). */
const ACCEPTED_SCHEMES = new Set(['sftp', 'ssh', 'http', 'https']);
const MAX_LENGTH = 2048;
// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const quote = (s: string) => `“${s.length > 60 ? `${s.slice(0, 60)}…` : s}”`;

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** Why `text` is not an IPv6 address, or null when it is one. */
function ipv6Problem(text: string): string | null {
  if (text.includes('%')) return 'IPv6 zone ids (“%…”) are not supported; enter the address without one.';
  const halves = text.split('::');
  if (halves.length > 2) return `${quote(text)} is not a valid IPv6 address (“::” may appear once).`;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = [...head, ...tail];
  let count = all.length;
  const last = all[all.length - 1];
  if (last !== undefined && last.includes('.')) {
    if (!isIpv4(last)) return `${quote(text)} is not a valid IPv6 address.`;
    count += 1; // an embedded IPv4 address fills two groups
    all.pop();
  }
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return `${quote(text)} is not a valid IPv6 address.`;
  if (halves.length === 2 ? count > 7 : count !== 8) return `${quote(text)} is not a valid IPv6 address.`;
  return null;
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** Why `host` (lower-cased, without brackets) is not a host name or IP address, or null. */
function hostProblem(host: string, bracketed: boolean): string | null {
  if (host === '') return 'Enter the server host.';
  if (bracketed || host.includes(':')) return ipv6Problem(host);
  if (host.length > 253) return 'The host name is too long (at most 253 characters).';
  const labels = host.split('.');
  if (labels.every((l) => /^\d+$/.test(l))) return isIpv4(host) ? null : `${quote(host)} is not a valid IP address.`;
  if (!labels.every((l) => LABEL.test(l)))
    return `${quote(host)} is not a valid host name: use letters, digits, hyphens and dots, e.g. sftp.example.com.`;
  return null;
}

function portOf(text: string): number | string {
  if (text === '') return 'The port after “:” is missing.';
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    return `${quote(text)} is not a port: enter a number between 1 and 65535.`;
  return Number(text);
}

/** The folder a URL path names: `/a/b` is absolute, `/~/a` is relative to the login folder; `/` names none. */
function folderOf(path: string): string | undefined | null {
  if (path === '' || /^\/+$/.test(path)) return undefined;
  const decoded = decode(path);
  if (decoded === null) return null;
  if (decoded === '/~' || decoded === '/~/') return '.';
  const relative = decoded.startsWith('/~/') ? decoded.slice(3) : decoded;
  return relative.length > 1 ? relative.replace(/\/+$/, '') : relative;
}

/**
 * Reads a server address. Rule: an optional `sftp://`, `ssh://`, `http://` or `https://` (any other
 * scheme is refused), an optional `user@` (never a password), the host (a name, an IPv4 address, or an
 * IPv6 address — in brackets when a port follows), an optional `:port`, and an optional `/folder`;
 * a query or fragment is refused. Nothing is guessed: what is not there stays unset.
 */
export function parseServerAddress(text: string): ServerAddressParse {
  const fail = (problem: string): ServerAddressParse => ({ ok: false, problem });
  const s = text.trim();
  if (s === '') return fail('Enter the server host.');
  if (s.length > MAX_LENGTH) return fail('The server address is too long.');
  if (CONTROL.test(s)) return fail('The server address must not contain control characters (such as line breaks or tabs).');
  if (/\s/.test(s)) return fail('The server address must not contain spaces.');

  let rest = s;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(s);
  if (scheme) {
    const name = scheme[1].toLowerCase();
    if (name === 'ftp' || name === 'ftps')
      return fail(
        `${name}:// is not supported: DDE delivers over SFTP (SSH), not FTP. Enter the SFTP server’s host name, e.g. sftp.example.com.`,
      );
    if (!ACCEPTED_SCHEMES.has(name))
      return fail(`${name}:// is not supported: enter the host name, or an sftp:// address such as sftp://sftp.example.com:22/folder.`);
    rest = s.slice(scheme[0].length);
  }
  if (rest.includes('?')) return fail('The server address has a query (“?…”): enter only the host, and the port and folder if needed.');
  if (rest.includes('#')) return fail('The server address has a fragment (“#…”): enter only the host, and the port and folder if needed.');

  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);

  const address: Partial<ServerAddress> = {};
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userInfo = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    // Never echo this part back: it may be a password.
    if (userInfo.includes(':')) return fail('Leave the password out of the server address: enter it under Authentication.');
    if (userInfo.includes(';'))
      return fail('Connection parameters (“;…”) in the server address are not supported: enter the user name only.');
    const username = decode(userInfo);
    if (!username) return fail('The user name before “@” is missing or malformed.');
    if (username.length > 128) return fail('The user name before “@” is too long (at most 128 characters).');
    address.username = username;
  }

  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) return fail('The IPv6 address is missing its closing “]”.');
    host = hostPort.slice(1, close);
    bracketed = true;
    const after = hostPort.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return fail(`Expected “:port” after the IPv6 address, not ${quote(after)}.`);
      portText = after.slice(1);
    }
  } else {
    const colons = hostPort.split(':').length - 1;
    if (colons === 1) [host, portText] = hostPort.split(':');
    else host = hostPort; // none, or a bare IPv6 address (which cannot carry a port without brackets)
  }
  host = host.toLowerCase().replace(/\.$/, '');
  const problem = hostProblem(host, bracketed);
  if (problem) return fail(problem);
  address.host = host;

  if (portText !== undefined) {
    const port = portOf(portText);
    if (typeof port === 'string') return fail(port);
    address.port = port;
  }
  const folder = folderOf(path);
  if (folder === null) return fail('The folder in the server address is malformed (a stray “%”).');
  if (folder !== undefined) address.folder = folder;
  return { ok: true, address: address as ServerAddress };
}

/** The set-up fields an address may also fill; absent (or empty) ones are "not given". */
export type ServerFields = { host: string; port?: number | null; folder?: string | null; username?: string | null };

export type ResolvedServer = { host: string; port: number; folder?: string; username?: string };

export type ServerAddressProblem = { field: 'host' | 'port' | 'folder' | 'username'; message: string };

export type ServerResolution = { ok: true; server: ResolvedServer; address: ServerAddress } | { ok: false; problem: ServerAddressProblem };

const trimFolder = (f: string) => (f.length > 1 ? f.replace(/\/+$/, '') : f);

/**
 * The host field read together with the port, folder and username fields. Rule: a part the address
 * names and its own field also gives must agree (else a problem naming both; a pasted "/folder" agrees
 * with a field's "folder", and the field's is kept); a part given once is taken from where it is; the
 * port defaults to 22.
 */
export function resolveServerAddress(
  fields: ServerFields,
  sameFolder: (a: string, b: string) => boolean = (a, b) => trimFolder(a) === trimFolder(b),
): ServerResolution {
  const parsed = parseServerAddress(fields.host);
  if (!parsed.ok) return { ok: false, problem: { field: 'host', message: parsed.problem } };
  const a = parsed.address;
  const given = (v: string | null | undefined) => (v == null || v.trim() === '' ? undefined : v.trim());
  const port = fields.port ?? undefined;
  const folder = given(fields.folder);
  const username = given(fields.username);
  if (a.port !== undefined && port !== undefined && a.port !== port)
    return {
      ok: false,
      problem: {
        field: 'port',
        message: `The server address says port ${a.port} but the port field says ${port}: remove one, or make them the same.`,
      },
    };
  // "sftp://host/acme-exports" beside a folder field of "acme-exports" names the same folder: the
  // slash after the host is how people write an address, not a request for the server's root.
  const agreeingFolders = (pasted: string, field: string) =>
    sameFolder(pasted, field) || (pasted.startsWith('/') && !field.startsWith('/') && sameFolder(pasted.slice(1), field));
  if (a.folder !== undefined && folder !== undefined && !agreeingFolders(a.folder, folder))
    return {
      ok: false,
      problem: {
        field: 'folder',
        message: `The server address names the folder ${quote(a.folder)} but the folder field says ${quote(folder)}: remove one, or make them the same.`,
      },
    };
  if (a.username !== undefined && username !== undefined && a.username !== username)
    return {
      ok: false,
      problem: {
        field: 'username',
        message: `The server address names the user ${quote(a.username)} but the username field says ${quote(username)}: remove one, or make them the same.`,
      },
    };
  const server: ResolvedServer = { host: a.host, port: a.port ?? port ?? DEFAULT_SFTP_PORT };
  // Given twice (and agreeing), the folder is the field's, as the admin typed it there.
  const f = folder ?? a.folder;
  const u = a.username ?? username;
  if (f !== undefined) server.folder = f;
  if (u !== undefined) server.username = u;
  return { ok: true, server, address: a };
}

/** Whether the text named more than a bare host, i.e. the form has something to split and to say. */
export function namesMoreThanHost(text: string, address: ServerAddress): boolean {
  return text.trim() !== address.host;
}

/** What was understood, as the form says it: "Understood as host demo.com, port 22". */
export function describeServerAddress(server: ResolvedServer): string {
  const parts = [`host ${server.host}`, `port ${server.port}`];
  if (server.folder !== undefined) parts.push(`folder ${server.folder === '.' ? '(the login folder)' : server.folder}`);
  if (server.username !== undefined) parts.push(`user ${server.username}`);
  return `Understood as ${parts.join(', ')}`;
}
