// The outbound policy (lib/net/outbound-policy.ts) as SFTP delivery applies it: once the host name
// is resolved, and again on the connected socket (what the operating system actually reached),
// before a byte of SSH is exchanged. A refusal is a DeliveryError that names the rule; it is not
// retryable (only an operator's allow list changes the answer).
import type { Socket } from 'node:net';
import { outboundRefusal } from '@/lib/net/outbound-policy';
import { DeliveryError, type Target } from './errors';

function refusalError(address: string | undefined, port: number, stage: 'resolve' | 'connect', target: Target): DeliveryError | null {
  const refused = outboundRefusal(address, port);
  if (!refused) return null;
  const resolvedFrom = address && address !== target.host ? ` (${target.host} resolves to ${address})` : '';
  return new DeliveryError('refused', `${refused.message}${resolvedFrom}`, {
    stage,
    retryable: false,
    detail: `outbound policy: ${refused.rule}`,
  });
}

/** After DNS resolution: throws when the policy refuses the resolved address. */
export function assertOutboundAllowed(address: string, port: number, target: Target): void {
  const err = refusalError(address, port, 'resolve', target);
  if (err) throw err;
}

/** On connect: the refusal of the socket's peer address, or null. `client` is an ssh2 Client. */
export function connectedPeerRefusal(client: unknown, port: number, target: Target): DeliveryError | null {
  const sock = (client as { _sock?: Socket })._sock;
  return refusalError(sock?.remoteAddress, sock?.remotePort ?? port, 'connect', target);
}
