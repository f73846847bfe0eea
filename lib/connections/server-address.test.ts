import { describe, expect, it } from 'vitest';
import { createConnectionSchema } from './schemas';
import { describeServerAddress, namesMoreThanHost, parseServerAddress, resolveServerAddress, type ServerAddress } from './server-address';

const parsed = (text: string) => {
  const r = parseServerAddress(text);
  if (!r.ok) throw new Error(`expected ${text} to parse, got: ${r.problem}`);
  return r.address;
};
const problem = (text: string) => {
  const r = parseServerAddress(text);
  if (r.ok) throw new Error(`expected ${text} to be refused, got ${JSON.stringify(r.address)}`);
  return r.problem;
};

describe('reading a pasted server address', () => {
  it.each<[string, ServerAddress]>([
    ['sftp.example.com', { host: 'sftp.example.com' }],
    ['  sftp.example.com  ', { host: 'sftp.example.com' }],
    ['SFTP.Example.COM', { host: 'sftp.example.com' }],
    ['sftp.example.com.', { host: 'sftp.example.com' }],
    ['localhost', { host: 'localhost' }],
    ['203.0.113.7', { host: '203.0.113.7' }],
    ['host:2222', { host: 'host', port: 2222 }],
    ['sftp.example.com:22', { host: 'sftp.example.com', port: 22 }],
    ['sftp://sftp.example.com', { host: 'sftp.example.com' }],
    ['sftp://sftp.example.com/', { host: 'sftp.example.com' }],
    ['sftp://sftp.example.com:2222/folder', { host: 'sftp.example.com', port: 2222, folder: '/folder' }],
    ['SFTP://sftp.example.com:2222/exports/firstup/', { host: 'sftp.example.com', port: 2222, folder: '/exports/firstup' }],
    ['sftp://alice@sftp.example.com/~/uploads', { host: 'sftp.example.com', username: 'alice', folder: 'uploads' }],
    ['sftp://sftp.example.com/~', { host: 'sftp.example.com', folder: '.' }],
    ['sftp://sftp.example.com/my%20files', { host: 'sftp.example.com', folder: '/my files' }],
    ['ssh://deploy@203.0.113.7:2200', { host: '203.0.113.7', port: 2200, username: 'deploy' }],
    ['https://demo.com', { host: 'demo.com' }],
    ['http://demo.com/', { host: 'demo.com' }],
    ['https://demo.com:8022/drop', { host: 'demo.com', port: 8022, folder: '/drop' }],
    ['user@host', { host: 'host', username: 'user' }],
    ['data.team@company.com@sftp.example.com', { host: 'sftp.example.com', username: 'data.team@company.com' }],
    ['user@host:2222', { host: 'host', port: 2222, username: 'user' }],
    ['sftp.example.com/exports', { host: 'sftp.example.com', folder: '/exports' }],
    ['[::1]:22', { host: '::1', port: 22 }],
    ['[::1]', { host: '::1' }],
    ['::1', { host: '::1' }],
    ['2001:db8::10', { host: '2001:db8::10' }],
    ['[2001:DB8::10]:2222', { host: '2001:db8::10', port: 2222 }],
    ['sftp://[2001:db8::10]:2222/in', { host: '2001:db8::10', port: 2222, folder: '/in' }],
    ['[::ffff:203.0.113.7]:22', { host: '::ffff:203.0.113.7', port: 22 }],
    ['1:2:3:4:5:6:7:8', { host: '1:2:3:4:5:6:7:8' }],
  ])('%s', (text, address) => {
    expect(parsed(text)).toEqual(address);
  });

  it.each<[string, RegExp]>([
    ['', /^Enter the server host\.$/],
    ['   ', /^Enter the server host\.$/],
    ['ftp://files.example.com', /^ftp:\/\/ is not supported: DDE delivers over SFTP \(SSH\), not FTP/],
    ['FTPS://files.example.com', /^ftps:\/\/ is not supported/],
    ['file:///etc/passwd', /^file:\/\/ is not supported: enter the host name, or an sftp:\/\/ address/],
    ['smb://server/share', /^smb:\/\/ is not supported/],
    ['sftp://host/folder?mode=binary', /has a query/],
    ['https://demo.com/?x=1', /has a query/],
    ['host#frag', /has a fragment/],
    ['sftp://alice:s3cret@host', /^Leave the password out of the server address: enter it under Authentication\.$/],
    ['sftp://alice;fingerprint=ssh-rsa-xx@host', /Connection parameters/],
    ['@host', /user name before “@” is missing/],
    ['host:', /^The port after “:” is missing\.$/],
    ['host:0', /“0” is not a port: enter a number between 1 and 65535\./],
    ['host:65536', /“65536” is not a port/],
    ['host:22a', /“22a” is not a port/],
    ['host:-1', /“-1” is not a port/],
    ['[::1', /missing its closing “]”/],
    ['[::1]x', /Expected “:port” after the IPv6 address/],
    ['[::1]:', /port after “:” is missing/],
    ['[::1%eth0]:22', /zone ids/],
    ['1::2::3', /not a valid IPv6 address \(“::” may appear once\)/],
    ['1:2:3:4:5:6:7:8:9', /not a valid IPv6 address/],
    ['[example.com]:22', /not a valid IPv6 address/],
    ['999.1.1.1', /“999\.1\.1\.1” is not a valid IP address/],
    ['10.1.1', /is not a valid IP address/],
    ['bad_host.example.com', /is not a valid host name: use letters, digits, hyphens and dots/],
    ['-bad.example.com', /is not a valid host name/],
    ['a..b', /is not a valid host name/],
    ['host name', /must not contain spaces/],
    ['host\nname', /control characters/],
    ['sftp://', /^Enter the server host\.$/],
    ['sftp://:22/x', /^Enter the server host\.$/],
    ['sftp://host/%zz', /malformed/],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, /too long/],
    [`${'a'.repeat(64)}.com`, /not a valid host name/],
  ])('refuses %j: %s', (text, message) => {
    expect(problem(text)).toMatch(message);
  });

  it('never repeats a password pasted in the address', () => {
    expect(problem('sftp://alice:hunter2@host:22/x')).not.toContain('hunter2');
  });

  it('tells a bare host from an address with more in it', () => {
    expect(namesMoreThanHost('sftp.example.com', parsed('sftp.example.com'))).toBe(false);
    expect(namesMoreThanHost('https://demo.com', parsed('https://demo.com'))).toBe(true);
    expect(namesMoreThanHost('[::1]', parsed('[::1]'))).toBe(true);
  });
});

describe('the address read with the port, folder and username fields', () => {
  it('takes each part from where it is given, the port 22 when none is', () => {
    expect(resolveServerAddress({ host: 'https://demo.com' })).toMatchObject({ ok: true, server: { host: 'demo.com', port: 22 } });
    expect(resolveServerAddress({ host: 'demo.com', port: 2222, folder: 'in', username: 'u' })).toMatchObject({
      ok: true,
      server: { host: 'demo.com', port: 2222, folder: 'in', username: 'u' },
    });
    expect(resolveServerAddress({ host: 'sftp://u@demo.com:2222/in', port: null, folder: '', username: ' ' })).toMatchObject({
      ok: true,
      server: { host: 'demo.com', port: 2222, folder: '/in', username: 'u' },
    });
  });

  it('accepts a part given twice when both say the same', () => {
    const r = resolveServerAddress({ host: 'sftp://u@demo.com:2222/in/', port: 2222, folder: '/in', username: 'u' });
    expect(r).toMatchObject({ ok: true, server: { host: 'demo.com', port: 2222, folder: '/in', username: 'u' } });
  });

  it('reads a pasted "/folder" and a folder field of "folder" as the same folder, keeping the field’s', () => {
    const r = resolveServerAddress({ host: 'sftp://acme@demo.com:38147/acme-exports', folder: 'acme-exports' });
    expect(r).toMatchObject({ ok: true, server: { host: 'demo.com', port: 38147, folder: 'acme-exports', username: 'acme' } });
    // Only that one slash: a different folder, or an absolute field against a relative path, still disagrees.
    expect(resolveServerAddress({ host: 'demo.com/acme-exports', folder: 'other' })).toMatchObject({ ok: false });
    expect(resolveServerAddress({ host: 'demo.com/~/acme-exports', folder: '/acme-exports' })).toMatchObject({ ok: false });
  });

  it('refuses a part given twice that disagrees, naming both values and the field', () => {
    expect(resolveServerAddress({ host: 'sftp://demo.com:2222', port: 22 })).toEqual({
      ok: false,
      problem: {
        field: 'port',
        message: 'The server address says port 2222 but the port field says 22: remove one, or make them the same.',
      },
    });
    expect(resolveServerAddress({ host: 'demo.com/a', folder: '/b' })).toMatchObject({
      ok: false,
      problem: { field: 'folder', message: expect.stringMatching(/names the folder “\/a” but the folder field says “\/b”/) },
    });
    expect(resolveServerAddress({ host: 'alice@demo.com', username: 'bob' })).toMatchObject({
      ok: false,
      problem: { field: 'username', message: expect.stringMatching(/names the user “alice” but the username field says “bob”/) },
    });
    expect(resolveServerAddress({ host: 'ftp://demo.com' })).toMatchObject({ ok: false, problem: { field: 'host' } });
  });

  it('says what it understood', () => {
    const say = (host: string, port?: number) => {
      const r = resolveServerAddress({ host, port });
      if (!r.ok) throw new Error(r.problem.message);
      return describeServerAddress(r.server);
    };
    expect(say('https://demo.com')).toBe('Understood as host demo.com, port 22');
    expect(say('host:2222')).toBe('Understood as host host, port 2222');
    expect(say('[::1]:22')).toBe('Understood as host ::1, port 22');
    expect(say('sftp://alice@demo.com:2200/exports')).toBe('Understood as host demo.com, port 2200, folder /exports, user alice');
    expect(say('sftp://demo.com/~/')).toBe('Understood as host demo.com, port 22, folder (the login folder)');
  });
});

describe('the management API reads the address by the same rule', () => {
  const body = (over: Record<string, unknown>) => ({
    kind: 'sftp',
    frequency: 'daily',
    start_date: '2026-12-01T00:00:00Z',
    contact_emails: ['a@b.co'],
    auth: { method: 'password', password: 'pw' },
    host_key_fingerprint: `SHA256:${'A'.repeat(43)}`,
    ...over,
  });
  const issues = (over: Record<string, unknown>) => {
    const r = createConnectionSchema.safeParse(body(over));
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('splits a pasted address into host, port, folder and username', () => {
    const r = createConnectionSchema.parse(body({ host: 'sftp://alice@Demo.com:2222/exports/' }));
    expect(r).toMatchObject({ host: 'demo.com', port: 2222, folder: '/exports', username: 'alice' });
    const plain = createConnectionSchema.parse(body({ host: 'https://demo.com', folder: 'in', username: 'u' }));
    expect(plain).toMatchObject({ host: 'demo.com', port: 22, folder: 'in', username: 'u' });
    const ipv6 = createConnectionSchema.parse(body({ host: '[::1]:2222', folder: '', username: 'u' }));
    expect(ipv6).toMatchObject({ host: '::1', port: 2222, folder: '.' });
    const both = createConnectionSchema.parse(body({ host: 'sftp://acme@demo.com:38147/acme-exports', folder: 'acme-exports' }));
    expect(both).toMatchObject({ host: 'demo.com', port: 38147, folder: 'acme-exports', username: 'acme' });
  });

  it('refuses conflicting, unsupported and incomplete input with the field that has the problem', () => {
    expect(issues({ host: 'sftp://demo.com:2222/in', port: 22, username: 'u' })).toEqual([
      'port: The server address says port 2222 but the port field says 22: remove one, or make them the same.',
    ]);
    expect(issues({ host: 'ftp://demo.com', folder: 'in', username: 'u' })).toEqual([
      expect.stringMatching(/^host: ftp:\/\/ is not supported/),
    ]);
    expect(issues({ host: 'sftp://demo.com/in?x=1', username: 'u' })).toEqual([expect.stringMatching(/^host: .*has a query/)]);
    expect(issues({ host: 'demo.com', username: 'u' })).toEqual(['folder: Enter the destination folder.']);
    expect(issues({ host: 'demo.com/in' })).toEqual(['username: Enter the username.']);
    expect(issues({ host: 'sftp://u@demo.com/a/../etc' })).toEqual([
      'host: The folder in the server address is not valid: The folder path must not contain ".." segments.',
    ]);
  });
});
