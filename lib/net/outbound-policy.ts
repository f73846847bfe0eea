// Where DDE may open outbound connections (SFTP hosts today, webhook URLs later). An address is
// checked after DNS resolution and again once the socket is connected: loopback, private,
// link-local, CGNAT, cloud metadata and other non-public addresses are refused, so that a host
// field cannot be used to reach the machine's own services or the internal network. The operator
// opens exceptions with DDE_OUTBOUND_ALLOWED_NETWORKS (CIDR list, optionally with a port).
import { env } from '@/lib/env';
import { networkContains, parseAddress, parseAllowList, parseNetwork, type AllowEntry, type Network } from '@/lib/cidr';

export type OutboundRule =
  'loopback' | 'private' | 'link_local' | 'cgnat' | 'metadata' | 'unspecified' | 'multicast' | 'reserved' | 'not_an_ip';

export const RULE_LABELS: Record<OutboundRule, string> = {
  loopback: 'a loopback address (this machine)',
  private: 'a private network address',
  link_local: 'a link-local address',
  cgnat: 'a carrier-grade NAT (shared) address',
  metadata: 'a cloud metadata service address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast or broadcast address',
  reserved: 'a reserved address',
  not_an_ip: 'not an IP address',
};

// Order matters: the first matching rule names the refusal (metadata before link-local).
const BLOCKED: [OutboundRule, string][] = [
  ['metadata', '169.254.169.254/32'],
  ['metadata', '169.254.170.2/32'],
  ['metadata', '100.100.100.200/32'],
  ['metadata', 'fd00:ec2::254/128'],
  // A cloud platform's host endpoint (DHCP, DNS, its agent's channel): on every virtual machine there.
  ['metadata', '168.63.129.16/32'],
  ['unspecified', '0.0.0.0/8'],
  ['unspecified', '::/128'],
  ['loopback', '127.0.0.0/8'],
  ['loopback', '::1/128'],
  // IPv4-compatible IPv6 (deprecated): [::127.0.0.1] must not reach what 127.0.0.1 would.
  ['reserved', '::/96'],
  ['private', '10.0.0.0/8'],
  ['private', '172.16.0.0/12'],
  ['private', '192.168.0.0/16'],
  ['private', 'fc00::/7'],
  ['link_local', '169.254.0.0/16'],
  ['link_local', 'fe80::/10'],
  ['cgnat', '100.64.0.0/10'],
  ['multicast', '224.0.0.0/4'],
  ['multicast', 'ff00::/8'],
  ['reserved', '240.0.0.0/4'],
  ['reserved', '192.0.0.0/24'],
  ['reserved', '198.18.0.0/15'],
  // NAT64 and 6to4 embed an IPv4 address that may be internal.
  ['reserved', '64:ff9b::/96'],
  ['reserved', '64:ff9b:1::/48'],
  ['reserved', '2002::/16'],
];

const BLOCKED_NETWORKS: { rule: OutboundRule; network: Network }[] = BLOCKED.map(([rule, text]) => ({
  rule,
  network: parseNetwork(text)!,
}));

export type OutboundDecision =
  { allowed: true; allowedBy?: string } | { allowed: false; rule: OutboundRule; network: string | null; message: string };

let cachedList: { source: string | undefined; entries: AllowEntry[] } | undefined;

function allowList(): AllowEntry[] {
  const source = env().outboundAllowedNetworks;
  if (cachedList && cachedList.source === source) return cachedList.entries;
  const entries = parseAllowList(source).entries;
  cachedList = { source, entries };
  return entries;
}

/** Whether DDE may connect to `address` on `port` (an IP address, as resolved), and if not, which rule refuses it. */
export function checkOutbound(address: string, port: number, allowed: AllowEntry[] = allowList()): OutboundDecision {
  const parsed = parseAddress(address);
  if (!parsed) {
    return { allowed: false, rule: 'not_an_ip', network: null, message: `"${address.slice(0, 80)}" is not an IP address.` };
  }
  const allowedBy = allowed.find((e) => networkContains(e, parsed) && (e.port === undefined || e.port === port));
  if (allowedBy) return { allowed: true, allowedBy: allowedBy.port ? `${allowedBy.text}:${allowedBy.port}` : allowedBy.text };
  const blocked = BLOCKED_NETWORKS.find((b) => networkContains(b.network, parsed));
  if (!blocked) return { allowed: true };
  return {
    allowed: false,
    rule: blocked.rule,
    network: blocked.network.text,
    message:
      `DDE does not connect to ${address} (${RULE_LABELS[blocked.rule]}, ${blocked.network.text}; rule "${blocked.rule}"). ` +
      'An operator can allow it with DDE_OUTBOUND_ALLOWED_NETWORKS.',
  };
}

/** Thrown (or returned) when the policy refuses a destination. */
export class OutboundRefusedError extends Error {
  constructor(
    readonly address: string,
    readonly port: number,
    readonly rule: OutboundRule,
    readonly network: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundRefusedError';
  }
}

/** The refusal of `address:port`, or null when DDE may connect there. */
export function outboundRefusal(address: string | undefined, port: number): OutboundRefusedError | null {
  if (!address) return new OutboundRefusedError('', port, 'not_an_ip', null, 'The connected address is unknown.');
  const d = checkOutbound(address, port);
  return d.allowed ? null : new OutboundRefusedError(address, port, d.rule, d.network, d.message);
}

/** Forgets the parsed allow list (tests that change DDE_OUTBOUND_ALLOWED_NETWORKS). */
export function resetOutboundPolicy(): void {
  cachedList = undefined;
}

/** The allow list with the embedded demo's own SFTP server (127.0.0.1, its port only) added. */
export function demoOutboundAllowance(existing: string | undefined, port: number): string {
  const entry = `127.0.0.1/32:${port}`;
  const parts = (existing ?? '').split(/[\s,]+/).filter(Boolean);
  return parts.includes(entry) ? parts.join(',') : [...parts, entry].join(',');
}
