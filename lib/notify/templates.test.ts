// The text of the emails added for reports on every connection, the auto-pause and the daily check:
// what each says, and that none carries a secret.
import { describe, expect, it } from 'vitest';
import {
  composeConnectionPaused,
  composeConnectionRecovered,
  composePgpKeyExpiry,
  composeDailyDigest,
  composeDeliveryReport,
  describeSftpDestination,
} from '@/lib/notify';

const destination = describeSftpDestination({ host: 'sftp.acme.example', port: 22, username: 'acme-dde', folder: '/incoming' });
const window = { start: new Date('2026-11-28T08:00:00Z'), end: new Date('2026-11-28T12:00:00Z') };
const files = [{ name: '4021-11-28-2026-08-activity-incremental.gz', rows: 1200, bytes: 48_100 }];

describe('report texts', () => {
  it('tells API contacts their files are ready to collect, with each file', () => {
    const m = composeDeliveryReport({
      connectionName: 'Acme feed',
      destination: 'Export API (files collected by your pipeline)',
      exportType: 'incremental',
      window,
      files,
      outcome: { status: 'available', finishedAt: new Date('2026-11-28T12:06:00Z') },
      detailsUrl: 'https://dde.example/configure/insights/recurring-data-connections/abc',
    });
    expect(m.subject).toBe('DDE files ready: Acme feed (2026-11-28 08:00 UTC)');
    expect(m.text).toBe(
      [
        'The files of the incremental export, window 2026-11-28 08:00 UTC – 2026-11-28 12:00 UTC are ready to collect from the export API since 2026-11-28 12:06 UTC.',
        'Each file lists its SHA-256; the manifest marks the set complete.',
        '',
        'Connection: Acme feed',
        'Destination: Export API (files collected by your pipeline)',
        'Export: incremental export, window 2026-11-28 08:00 UTC – 2026-11-28 12:00 UTC',
        'Files (1; 1,200 rows, 48.1 kB):',
        '  - 4021-11-28-2026-08-activity-incremental.gz: 1,200 rows, 48.1 kB',
        '',
        'Event history: https://dde.example/configure/insights/recurring-data-connections/abc',
        '',
        '— DDE (Direct Data Export). You receive this as a contact of this connection.',
      ].join('\n'),
    );
  });

  it('says a failed export could not be generated, names the error class and what to do', () => {
    const m = composeDeliveryReport({
      connectionName: 'Acme feed',
      destination: 'Export API (files collected by your pipeline)',
      exportType: 'incremental',
      window,
      files: [],
      outcome: { status: 'failed', errorCode: 'export_failed', errorMessage: 'canceling statement due to statement timeout', attempts: 3 },
    });
    expect(m.subject).toBe('DDE export failed (files could not be generated): Acme feed (2026-11-28 08:00 UTC)');
    expect(m.text).toContain('could not be generated after 3 attempts.');
    expect(m.text).toContain('Error: export_failed — canceling statement due to statement timeout');
    expect(m.text).toContain('Nothing was delivered and no data is lost');
    expect(m.text).toContain('Retry it from there');
    expect(m.text).not.toContain('DDE retried automatically');
  });
});

describe('connection texts', () => {
  it('says why a connection paused itself and how to resume it', () => {
    const m = composeConnectionPaused({
      connectionName: 'Acme warehouse',
      destination,
      pausedAt: new Date('2026-11-28T12:07:00Z'),
      failedWindows: 5,
      lastError: { code: 'refused', message: 'connect ECONNREFUSED 203.0.113.7:22' },
    });
    expect(m.subject).toBe('DDE connection paused after 5 failed windows: Acme warehouse');
    expect(m.text.split('\n').slice(0, 8)).toEqual([
      'The connection "Acme warehouse" paused itself at 2026-11-28 12:07 UTC because its last 5 windows failed in a row.',
      'Nothing is lost: every window missed while paused is exported after the connection is resumed.',
      '',
      'Destination: acme-dde@sftp.acme.example:22, folder /incoming',
      'Last error: refused — connect ECONNREFUSED 203.0.113.7:22',
      '',
      'Nothing accepted the connection on that host and port. Check that the SFTP server is running and that its firewall admits DDE.',
      '',
    ]);
    expect(m.text).toContain('press Resume on the connection page');
  });

  it('says a connection is active again', () => {
    const m = composeConnectionRecovered({ connectionName: 'Acme warehouse', destination, checkedAt: new Date('2026-11-29T06:17:00Z') });
    expect(m.subject).toBe('DDE connection active again: Acme warehouse');
    expect(m.text).toContain('passed at 2026-11-29 06:17 UTC: the server answers again.');
    expect(m.text).toContain('Destination: acme-dde@sftp.acme.example:22, folder /incoming');
  });

  it('counts the days left on an OpenPGP key, and says when it has expired', () => {
    const key = { connectionName: 'Acme warehouse', fingerprint: 'C466 F80B', userIds: [], expiresAt: new Date('2026-12-05T06:00:00Z') };
    const soon = composePgpKeyExpiry({ ...key, checkedAt: new Date('2026-12-04T06:17:00Z') });
    expect(soon.subject).toBe('DDE OpenPGP key expires on 2026-12-05: Acme warehouse');
    expect(soon.text).toContain('expires at 2026-12-05 06:00 UTC (in 1 day).');
    expect(soon.text).toContain('Key: C466 F80B\n');
    const gone = composePgpKeyExpiry({ ...key, checkedAt: new Date('2026-12-05T06:17:00Z') });
    expect(gone.subject).toBe('DDE OpenPGP key expired: Acme warehouse');
    expect(gone.text).toContain('expired at 2026-12-05 06:00 UTC.');
  });

  it('lists a day of runs in the digest, failures first', () => {
    const m = composeDailyDigest({
      connectionName: 'Acme warehouse',
      destination,
      day: { start: new Date('2026-11-28T06:17:00Z'), end: new Date('2026-11-29T06:17:00Z') },
      runs: [
        { exportType: 'incremental', window, status: 'delivered', rows: 1200, bytes: 48_100 },
        {
          exportType: 'incremental',
          window: { start: window.end, end: new Date('2026-11-28T16:00:00Z') },
          status: 'failed',
          rows: 0,
          bytes: 0,
          errorCode: 'no_space',
        },
      ],
    });
    expect(m.subject).toBe('DDE daily digest: Acme warehouse: 1 ok, 1 failed');
    const lines = m.text.split('\n');
    expect(lines.indexOf('Failed (1):')).toBeLessThan(lines.indexOf('Succeeded (1):'));
    expect(m.text).toContain('  - incremental window 2026-11-28 12:00 UTC – 2026-11-28 16:00 UTC: FAILED (server storage full)');
    expect(m.text).toContain('  - incremental window 2026-11-28 08:00 UTC – 2026-11-28 12:00 UTC: delivered, 1,200 rows, 48.1 kB');
  });
});
