// IP addresses and CIDR networks as numbers (IPv4 as 32 bits, IPv6 as 128), with no I/O: the outbound
// policy (lib/net) and the configuration parser (lib/env.ts) both build on this; it sits below both.
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;
export type ParsedAddress = { family: Family; value: bigint };
export type Network = { family: Family; base: bigint; prefix: number; text: string };
/** An allow-list entry: a network, optionally only one port of it. */
export type AllowEntry = Network & { port?: number };

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToBigInt(dotted[1]);
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

const MAPPED_PREFIX = 0xffffn << 32n;

/**
 * An address as a number, or null when it is not an IP address. IPv4-mapped IPv6 addresses
 * (::ffff:127.0.0.1) are the IPv4 address they carry, so they cannot slip past an IPv4 rule.
 */
export function parseAddress(address: string): ParsedAddress | null {
  const a = address.trim();
  if (isIPv4(a)) return { family: 4, value: ipv4ToBigInt(a) };
  if (isIPv6(a)) {
    const value = ipv6ToBigInt(a);
    if (value >> 32n === MAPPED_PREFIX >> 32n) return { family: 4, value: value & 0xffffffffn };
    return { family: 6, value };
  }
  return null;
}

/** "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128); null when malformed. */
export function parseNetwork(text: string): Network | null {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addressText = slash >= 0 ? t.slice(0, slash) : t;
  const parsed = parseAddress(addressText);
  if (!parsed) return null;
  // A mapped address written as a network keeps IPv6 prefix lengths meaningless: refuse it.
  if (parsed.family === 4 && !isIPv4(addressText)) return null;
  const bits = parsed.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return null;
    prefix = Number(p);
  }
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { family: parsed.family, base: parsed.value & mask, prefix, text: `${addressText}/${prefix}` };
}

export function networkContains(network: Network, address: ParsedAddress): boolean {
  if (network.family !== address.family) return false;
  const bits = network.family === 4 ? 32 : 128;
  const shift = BigInt(bits - network.prefix);
  return address.value >> shift === network.base >> shift;
}

/**
 * One allow-list entry: a CIDR network or address, optionally with a port —
 * `10.1.2.0/24`, `127.0.0.1/32:2222`, `[fd00::/8]:22`. Returns an error message when malformed.
 */
export function parseAllowEntry(text: string): AllowEntry | string {
  const t = text.trim();
  let networkText = t;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) {
    networkText = bracket[1];
    portText = bracket[2];
  } else if (/^[\d./]+:\d+$/.test(t)) {
    const colon = t.lastIndexOf(':');
    networkText = t.slice(0, colon);
    portText = t.slice(colon + 1);
  }
  const network = parseNetwork(networkText);
  if (!network) return `"${t.slice(0, 80)}" is not a CIDR network (like 10.0.0.0/8, 127.0.0.1/32:2222 or [fd00::/8]:22)`;
  if (portText === undefined) return network;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${t.slice(0, 80)}": the port must be between 1 and 65535`;
  return { ...network, port };
}

/** A comma- or space-separated allow list; every entry must parse. */
export function parseAllowList(text: string | undefined): { entries: AllowEntry[]; errors: string[] } {
  const entries: AllowEntry[] = [];
  const errors: string[] = [];
  for (const part of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const r = parseAllowEntry(part);
    if (typeof r === 'string') errors.push(r);
    else entries.push(r);
  }
  return { entries, errors };
}
