// The outbound policy: which addresses an SFTP host (or later a webhook URL) may resolve to, which
// rule refuses the others, and how DDE_OUTBOUND_ALLOWED_NETWORKS opens exceptions.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectedPeerRefusal } from '@/lib/delivery/outbound';
import { DeliveryError } from '@/lib/delivery/errors';
import { env, parseEnv, resetEnv } from '@/lib/env';
import { parseAllowList, parseAddress } from '@/lib/cidr';
import { checkOutbound, demoOutboundAllowance, outboundRefusal } from './outbound-policy';

const none = parseAllowList('').entries;
const refusedBy = (address: string, port = 22, allow = none) => {
  const d = checkOutbound(address, port, allow);
  return d.allowed ? null : d.rule;
};

describe('the outbound policy', () => {
  it('refuses loopback, private, link-local, CGNAT and metadata addresses, naming the rule', () => {
    expect(refusedBy('127.0.0.1')).toBe('loopback');
    expect(refusedBy('127.0.0.2')).toBe('loopback');
    expect(refusedBy('::1')).toBe('loopback');
    expect(refusedBy('10.1.2.3')).toBe('private');
    expect(refusedBy('172.16.0.1')).toBe('private');
    expect(refusedBy('172.31.255.255')).toBe('private');
    expect(refusedBy('192.168.1.1')).toBe('private');
    expect(refusedBy('fd12:3456::1')).toBe('private');
    expect(refusedBy('169.254.1.1')).toBe('link_local');
    expect(refusedBy('fe80::1')).toBe('link_local');
    expect(refusedBy('100.64.0.1')).toBe('cgnat');
    expect(refusedBy('100.127.255.254')).toBe('cgnat');
    expect(refusedBy('169.254.169.254')).toBe('metadata');
    expect(refusedBy('fd00:ec2::254')).toBe('metadata');
    expect(refusedBy('0.0.0.0')).toBe('unspecified');
    expect(refusedBy('::')).toBe('unspecified');
    expect(refusedBy('224.0.0.1')).toBe('multicast');
    expect(refusedBy('not-an-ip')).toBe('not_an_ip');
  });

  it('sees through IPv4-mapped IPv6, NAT64 and 6to4 forms of internal addresses', () => {
    expect(parseAddress('::ffff:127.0.0.1')).toEqual(parseAddress('127.0.0.1'));
    expect(refusedBy('::ffff:127.0.0.1')).toBe('loopback');
    expect(refusedBy('::ffff:7f00:1')).toBe('loopback');
    expect(refusedBy('::ffff:169.254.169.254')).toBe('metadata');
    expect(refusedBy('64:ff9b::a00:1')).toBe('reserved');
    expect(refusedBy('2002:a00:1::1')).toBe('reserved');
  });

  it('refuses IPv4-compatible IPv6, local-use NAT64 and the cloud host endpoint 168.63.129.16', () => {
    expect(refusedBy('::127.0.0.1')).not.toBeNull();
    expect(refusedBy('::7f00:1')).not.toBeNull();
    expect(refusedBy('::a9fe:a9fe')).not.toBeNull();
    expect(refusedBy('::808:808')).toBe('reserved');
    expect(refusedBy('64:ff9b:1::a00:1')).toBe('reserved');
    expect(refusedBy('64:ff9b:1:ffff::1')).toBe('reserved');
    expect(refusedBy('168.63.129.16')).toBe('metadata');
    expect(refusedBy('::ffff:168.63.129.16')).toBe('metadata');
    // Their neighbours stay public.
    expect(refusedBy('168.63.129.17')).toBeNull();
    expect(refusedBy('64:ff9b:2::1')).toBeNull();
    // The unspecified and loopback addresses keep their own rules.
    expect(refusedBy('::')).toBe('unspecified');
    expect(refusedBy('::1')).toBe('loopback');
  });

  it('allows public addresses', () => {
    expect(checkOutbound('203.0.113.10', 22, none)).toEqual({ allowed: true });
    expect(checkOutbound('8.8.8.8', 22, none)).toEqual({ allowed: true });
    expect(checkOutbound('2001:db8::1', 22, none)).toEqual({ allowed: true });
    expect(refusedBy('172.32.0.1')).toBeNull();
    expect(refusedBy('100.128.0.1')).toBeNull();
  });

  it('says in its message which address, which rule and which network refused, and how to allow it', () => {
    const d = checkOutbound('10.9.8.7', 22, none);
    expect(d).toMatchObject({ allowed: false, rule: 'private', network: '10.0.0.0/8' });
    expect(!d.allowed && d.message).toBe(
      'DDE does not connect to 10.9.8.7 (a private network address, 10.0.0.0/8; rule "private"). An operator can allow it with DDE_OUTBOUND_ALLOWED_NETWORKS.',
    );
  });

  it('opens exactly the networks (and ports) the allow list names', () => {
    const allow = parseAllowList('10.20.0.0/16, 127.0.0.1/32:2222 [fd00::/8]:22').entries;
    expect(refusedBy('10.20.3.4', 22, allow)).toBeNull();
    expect(refusedBy('10.21.0.1', 22, allow)).toBe('private');
    expect(refusedBy('127.0.0.1', 2222, allow)).toBeNull();
    expect(refusedBy('127.0.0.1', 22, allow)).toBe('loopback');
    expect(refusedBy('127.0.0.2', 2222, allow)).toBe('loopback');
    expect(refusedBy('fd00::5', 22, allow)).toBeNull();
    expect(refusedBy('fd00::5', 23, allow)).toBe('private');
    expect(checkOutbound('10.20.3.4', 22, allow)).toEqual({ allowed: true, allowedBy: '10.20.0.0/16' });
  });

  it('stops start-up with a message naming the variable and the bad entry', () => {
    expect(() =>
      parseEnv({
        DATABASE_URL: 'postgres://x@localhost/db',
        NEXTAUTH_SECRET: 'x'.repeat(32),
        DDE_ENCRYPTION_KEY: 'a'.repeat(64),
        DDE_OUTBOUND_ALLOWED_NETWORKS: '10.0.0.0/8,10.0.0.0/33',
      }),
    ).toThrow(/DDE_OUTBOUND_ALLOWED_NETWORKS: "10.0.0.0\/33" is not a CIDR network/);
    expect(() =>
      parseEnv({
        DATABASE_URL: 'postgres://x@localhost/db',
        NEXTAUTH_SECRET: 'x'.repeat(32),
        DDE_ENCRYPTION_KEY: 'a'.repeat(64),
        DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32:70000',
      }),
    ).toThrow(/DDE_OUTBOUND_ALLOWED_NETWORKS: "127.0.0.1\/32:70000": the port must be between 1 and 65535/);
  });

  it('gives the embedded demo exactly its own server, added once to what the operator set', () => {
    expect(demoOutboundAllowance(undefined, 40222)).toBe('127.0.0.1/32:40222');
    expect(demoOutboundAllowance('10.0.0.0/8', 40222)).toBe('10.0.0.0/8,127.0.0.1/32:40222');
    expect(demoOutboundAllowance('10.0.0.0/8,127.0.0.1/32:40222', 40222)).toBe('10.0.0.0/8,127.0.0.1/32:40222');
  });
});

describe('the policy at connect time', () => {
  let saved: string | undefined;
  // An external database in the configuration, so that reading it writes no generated secrets anywhere.
  const base = { DATABASE_URL: 'postgres://dde@127.0.0.1:1/none', NEXTAUTH_SECRET: 'x'.repeat(32), DDE_ENCRYPTION_KEY: 'a'.repeat(64) };
  beforeEach(() => {
    resetEnv(base);
    saved = env().outboundAllowedNetworks;
  });
  afterEach(() =>
    resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: saved, DATABASE_URL: undefined, NEXTAUTH_SECRET: undefined, DDE_ENCRYPTION_KEY: undefined }),
  );

  it('refuses a socket whose peer turns out to be internal, whatever the name resolved to', () => {
    resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32' });
    const target = { host: 'sftp.example.com', port: 22 };
    const peer = (remoteAddress: string | undefined) => ({ _sock: { remoteAddress, remotePort: 22 } });
    const refused = connectedPeerRefusal(peer('169.254.169.254'), 22, target);
    expect(refused).toBeInstanceOf(DeliveryError);
    expect(refused).toMatchObject({ code: 'refused', retryable: false, stage: 'connect' });
    expect(refused!.message).toContain('rule "metadata"');
    expect(refused!.message).toContain('sftp.example.com resolves to 169.254.169.254');
    expect(connectedPeerRefusal(peer(undefined), 22, target)?.message).toBe('The connected address is unknown.');
    expect(connectedPeerRefusal(peer('127.0.0.1'), 22, target)).toBeNull();
  });

  it('follows DDE_OUTBOUND_ALLOWED_NETWORKS as configured', () => {
    resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: '' });
    expect(outboundRefusal('127.0.0.1', 22)?.rule).toBe('loopback');
    resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.0/8' });
    expect(outboundRefusal('127.0.0.1', 22)).toBeNull();
  });
});
