// The outbound policy as database destinations apply it: the host is resolved once, the address is
// judged (loopback, private and metadata ranges are refused unless allowed), and the driver then
// connects to that very address, so a name cannot resolve to something else between the check and
// the connection. TLS still verifies the certificate against the host name typed.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { outboundRefusal } from '@/lib/net/outbound-policy';
import { LoadError } from './errors';

export async function resolveAllowed(host: string, port: number): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  let address = bare;
  if (!isIP(bare)) {
    try {
      address = (await lookup(bare)).address;
    } catch (err) {
      throw new LoadError('connect', `Could not resolve ${bare}: ${(err as Error).message}`, { cause: err });
    }
  }
  const refused = outboundRefusal(address, port);
  if (refused) {
    const from = address !== bare ? ` (${bare} resolves to ${address})` : '';
    throw new LoadError('refused', `${refused.message}${from}`);
  }
  return address;
}
