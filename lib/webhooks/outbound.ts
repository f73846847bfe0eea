// Where webhooks may be sent: the outbound address policy every outbound connection obeys
// (lib/net/outbound-policy.ts: public addresses, plus the networks DDE_OUTBOUND_ALLOWED_NETWORKS
// allows). The check runs on the address actually connected to (a lookup hook), so a host name
// that resolves to a refused address is refused before any packet is sent to it.
import dns from 'node:dns';
import net from 'node:net';
import { AppError } from '@/lib/http/errors';
import { checkOutbound, OutboundRefusedError } from '@/lib/net/outbound-policy';

export { OutboundRefusedError };

/** The port a webhook URL connects to. */
export function portOf(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/** Why `ip`:`port` may not be contacted (the policy's message, naming the rule), or null when it may. */
export function refusalOf(ip: string, port: number): string | null {
  const d = checkOutbound(ip, port);
  return d.allowed ? null : d.message;
}

/** A dns.lookup for `port` that refuses addresses outside the policy: pass it to http.request({ lookup }). */
export function policyLookup(port: number): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as dns.LookupAddress[];
      const refused = list.map((a) => ({ a, d: checkOutbound(a.address, port) })).find((x) => !x.d.allowed);
      if (refused && !refused.d.allowed)
        return callback(new OutboundRefusedError(refused.a.address, port, refused.d.rule, refused.d.network, refused.d.message), '', 4);
      if (list.length === 0) return callback(new Error(`${hostname} did not resolve`), '', 4);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

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
  const port = portOf(u);
  if (net.isIP(host)) {
    const why = refusalOf(host, port);
    if (why) throw fail(why);
    return u;
  }
  const addresses = await dns.promises.lookup(host, { all: true }).catch(() => null);
  if (!addresses || addresses.length === 0) throw fail(`the host ${host} does not resolve.`);
  const why = addresses.map((a) => refusalOf(a.address, port)).find(Boolean);
  if (why) throw fail(`${host} resolves to a refused address: ${why}`);
  return u;
}
