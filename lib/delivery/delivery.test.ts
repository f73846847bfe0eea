import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inferFileKind, orderForDelivery } from './deliver-files';
import { classifyDeliveryError, DELIVERY_ERROR_CODES, DeliveryError, RETRYABLE, SFTP_STATUS, type ClassifyContext } from './errors';
import { hostKeyFingerprint, normalizeFingerprint, publicKeyLineFingerprint } from './fingerprint';
import { destinationFolderProblem, destinationFolderSchema, remotePathIn } from './folder';

const target = { host: 'sftp.acme.example', port: 22, username: 'acme', folder: '/in' };
const ctx = (stage: ClassifyContext['stage'], extra: Partial<ClassifyContext> = {}): ClassifyContext => ({ stage, target, ...extra });
const sftpError = (code: number, message = 'x') => Object.assign(new Error(message), { code });

describe('destination folder validation', () => {
  it('accepts absolute and relative folders and normalizes them', () => {
    expect(destinationFolderSchema.parse('/exports/dde/')).toBe('/exports/dde');
    expect(destinationFolderSchema.parse('uploads//daily')).toBe('uploads/daily');
    expect(destinationFolderSchema.parse('')).toBe('.');
    expect(destinationFolderSchema.parse('./in')).toBe('in');
    expect(destinationFolderSchema.parse('/')).toBe('/');
  });

  it.each([
    ['../etc', /".." segments/],
    ['/data/../../root', /".." segments/],
    ['in/..', /".." segments/],
    ['in\nbox', /control characters/],
    ['in\u0000', /control characters/],
    ['tab\there', /control characters/],
    ['in\u0085x', /control characters/],
    ['C:\\data', /"\/"/],
    ['~/in', /"~"/],
    ['a…(1025 characters)', /too long/],
  ])('refuses %j with a clear message', (shown, message) => {
    const folder = shown === 'a…(1025 characters)' ? 'a'.repeat(1025) : shown;
    const r = destinationFolderSchema.safeParse(folder);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toMatch(message);
  });

  it('composes into a set-up form schema with a field path', () => {
    const form = z.object({ folder: destinationFolderSchema });
    const r = form.safeParse({ folder: '../x' });
    expect(r.error?.issues[0].path).toEqual(['folder']);
    expect(destinationFolderProblem('..hidden/ok..')).toBeNull();
  });

  it('places files in the folder', () => {
    expect(remotePathIn('.', 'a.gz')).toBe('a.gz');
    expect(remotePathIn('/in/', 'a.gz')).toBe('/in/a.gz');
    expect(remotePathIn('out', 'a.gz')).toBe('out/a.gz');
  });
});

describe('host key fingerprints', () => {
  it('prints SHA256 fingerprints as OpenSSH does (unpadded base64)', () => {
    // `ssh-keygen -lf` of this ed25519 key prints SHA256:WcIOzAymI6+JoEGmP2+aJj92g8Xbn1wU4/XKk5whMCw
    const line = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0hJ5kuQpZaymHJUyHPwJxMNW6Ph8VKE3ZJvg8JJBgf test';
    const fp = publicKeyLineFingerprint(line);
    expect(fp).toBe('SHA256:WcIOzAymI6+JoEGmP2+aJj92g8Xbn1wU4/XKk5whMCw');
    expect(fp).toBe(hostKeyFingerprint(Buffer.from(line.split(' ')[1], 'base64')));
    expect(normalizeFingerprint(`${fp.slice(7)}=`)).toBe(fp);
  });
});

describe('delivery order', () => {
  it('sends data files, then their sidecars, then the manifest last', () => {
    const f = (name: string) => ({ name, size: 1, sha256: '', localPath: name });
    const ordered = orderForDelivery([
      f('1-11-28-2026-08-manifest-incremental.json'),
      f('1-11-28-2026-08-user-incremental.gz.sha256'),
      f('1-11-28-2026-08-user-incremental.gz'),
      f('1-11-28-2026-08-activity-incremental.gz'),
      f('1-11-28-2026-08-activity-incremental.gz.sha256'),
    ]);
    expect(ordered.map((x) => x.name)).toEqual([
      '1-11-28-2026-08-user-incremental.gz',
      '1-11-28-2026-08-activity-incremental.gz',
      '1-11-28-2026-08-user-incremental.gz.sha256',
      '1-11-28-2026-08-activity-incremental.gz.sha256',
      '1-11-28-2026-08-manifest-incremental.json',
    ]);
    expect(inferFileKind('4021-11-28-2026-08-manifest-historical.json')).toBe('manifest');
    expect(inferFileKind('4021-11-28-2026-08-activity-incremental.xlsx')).toBe('data');
  });
});

describe('error classification', () => {
  it('has exactly the eleven codes, and retries only what can heal by itself', () => {
    expect([...DELIVERY_ERROR_CODES].sort()).toEqual(
      [
        'auth_failed',
        'dns',
        'folder_missing',
        'host_key_mismatch',
        'no_space',
        'permission_denied',
        'refused',
        'throttled',
        'timeout',
        'unknown',
        'wrong_region',
      ].sort(),
    );
    expect(
      Object.entries(RETRYABLE)
        .filter(([, r]) => !r)
        .map(([c]) => c)
        .sort(),
    ).toEqual(['auth_failed', 'folder_missing', 'host_key_mismatch', 'permission_denied', 'wrong_region']);
  });

  it.each([
    [
      Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' }),
      'handshake',
      'auth_failed',
    ],
    [Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), 'connect', 'dns'],
    [Object.assign(new Error('getaddrinfo EAI_AGAIN x'), { code: 'EAI_AGAIN' }), 'resolve', 'dns'],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'connect', 'refused'],
    [Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' }), 'handshake', 'timeout'],
    [Object.assign(new Error('Keepalive timeout'), { level: 'client-timeout' }), 'write', 'timeout'],
    [sftpError(SFTP_STATUS.NO_SUCH_FILE), 'folder', 'folder_missing'],
    [sftpError(SFTP_STATUS.PERMISSION_DENIED), 'open', 'permission_denied'],
    [sftpError(SFTP_STATUS.FAILURE, 'Failure'), 'write', 'no_space'],
    [sftpError(SFTP_STATUS.FAILURE, 'Failure'), 'close', 'no_space'],
    [sftpError(SFTP_STATUS.FAILURE, 'Failure'), 'rename', 'unknown'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'write', 'unknown'],
    [new Error('something odd'), 'write', 'unknown'],
  ] as const)('%s during %s → %s', (err, stage, code) => {
    const e = classifyDeliveryError(err, ctx(stage));
    expect(e).toBeInstanceOf(DeliveryError);
    expect(e.code).toBe(code);
    expect(e.retryable).toBe(RETRYABLE[code]);
    expect(e.message.length).toBeGreaterThan(20);
  });

  it('uses disk facts: a read-only file system is permission_denied, an almost full one no_space', () => {
    expect(classifyDeliveryError(sftpError(4), ctx('open', { disk: { readOnly: true, bytesAvailable: 1e9 } })).code).toBe(
      'permission_denied',
    );
    expect(classifyDeliveryError(sftpError(4), ctx('open', { disk: { readOnly: false, bytesAvailable: 10 } })).code).toBe('no_space');
  });

  it('names both fingerprints when the host key changed', () => {
    const e = classifyDeliveryError(
      new Error('Host denied (verification failed)'),
      ctx('handshake', { hostKeyMismatch: { presented: 'SHA256:new', pinned: 'SHA256:old' } }),
    );
    expect(e.code).toBe('host_key_mismatch');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('SHA256:new');
    expect(e.message).toContain('SHA256:old');
    // The way back that keeps the connection's history, not "delete and recreate".
    expect(e.message).toContain('Stop the connection, Replace credentials, test and trust the new key, then Start it and retry this run');
    expect(e.message).not.toMatch(/recreate|delete/i);
  });

  it('serializes to code, message, retryable and stage only', () => {
    const e = classifyDeliveryError(sftpError(3, 'Permission denied'), ctx('open', { path: '/in/.a.part-1' }));
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'permission_denied', message: e.message, retryable: false, stage: 'open' });
  });
});
