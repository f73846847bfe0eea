// Where webhooks may be sent: public addresses, plus the networks the operator allows.
// This is the webhooks' call site of the outbound address policy (ARCHITECTURE › Outbound
// connections). It holds a minimal rule of its own for now — refuse loopback, private, link-local
// (cloud metadata included), CGNAT, multicast and unspecified addresses unless allowed — so that it
// can be pointed at the shared policy module (lib/net/outbound-policy.ts) without changing callers.
// The check runs on the address actually connected to (a lookup hook), so a host name that
// resolves to a refused address is refused before any packet is sent to it.
import dns from 'node:dns';
import net from 'node:net';
import { AppError } from '@/lib/http/errors';

type Range = { family: 4 | 6; bits: bigint; prefix: number };

const REFUSED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/3',
];
const REFUSED_V6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8', '64:ff9b::/96'];

function toBits(ip: string): { family: 4 | 6; bits: bigint } | null {
  if (net.isIPv4(ip)) return { family: 4, bits: ip.split('.').reduce((n, p) => (n << 8n) | BigInt(Number(p)), 0n) };
  if (!net.isIPv6(ip)) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return toBits(mapped[1]);
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  return { family: 6, bits: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
}

export function parseNetwork(cidr: string): Range {
  const [ip, len] = cidr.trim().split('/');
  const addr = toBits(ip);
  if (!addr) throw new Error(`Not a network: ${cidr}`);
  const width = addr.family === 4 ? 32 : 128;
  const prefix = len === undefined ? width : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) throw new Error(`Not a network: ${cidr}`);
  return { family: addr.family, bits: addr.bits, prefix };
}

function contains(range: Range, ip: { family: 4 | 6; bits: bigint }): boolean {
  if (range.family !== ip.family) return false;
  const width = BigInt(range.family === 4 ? 32 : 128);
  const shift = width - BigInt(range.prefix);
  return range.bits >> shift === ip.bits >> shift;
}

const refused = [...REFUSED_V4, ...REFUSED_V6].map(parseNetwork);
let allowed: Range[] = [];

/** The networks the operator allows besides public addresses (DDE_OUTBOUND_ALLOWED_NETWORKS at merge). */
export function setOutboundAllowedNetworks(networks: string[]): void {
  allowed = networks.filter((n) => n.trim()).map(parseNetwork);
}

/** Why an address may not be contacted, or null when it may. */
export function refusalOf(ip: string): string | null {
  const addr = toBits(ip);
  if (!addr) return `${ip} is not an IP address`;
  if (allowed.some((r) => contains(r, addr))) return null;
  if (refused.some((r) => contains(r, addr)))
    return `${ip} is a loopback, private, link-local or otherwise internal address; DDE only sends to public addresses unless the operator allows the network`;
  return null;
}

export class OutboundRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefusedError';
  }
}

/** A dns.lookup that refuses addresses outside the policy: pass it to http.request({ lookup }). */
export const policyLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 4);
    const list = addresses as dns.LookupAddress[];
    const bad = list.map((a) => refusalOf(a.address)).find(Boolean);
    if (bad || list.length === 0) return callback(new OutboundRefusedError(bad ?? `${hostname} did not resolve`), '', 4);
    if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    callback(null, list[0].address, list[0].family);
  });
};

/**
 * Refuses (422 on `field`) a webhook URL DDE may not send to: not http(s), credentials in it, or a
 * host that is (or resolves only to) a refused address. Checked when the endpoint is saved; every
 * send checks the connected address again.
 */
export async function assertOutboundAllowed(url: string, field = 'url'): Promise<URL> {
  const fail = (message: string) => new AppError('validation_failed', `${field}: ${message}`, { fields: [{ path: field, message }] });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw fail('must be an absolute http:// or https:// URL.');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw fail('must be an http:// or https:// URL.');
  if (u.username || u.password) throw fail('must not contain a user name or password.');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) {
    const why = refusalOf(host);
    if (why) throw fail(`${why}.`);
    return u;
  }
  const addresses = await dns.promises.lookup(host, { all: true }).catch(() => null);
  if (!addresses || addresses.length === 0) throw fail(`the host ${host} does not resolve.`);
  const why = addresses.map((a) => refusalOf(a.address)).find(Boolean);
  if (why) throw fail(`${host} resolves to ${why}.`);
  return u;
}
