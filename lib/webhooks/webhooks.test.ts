// Webhook bodies, signatures and the address rule, without a network: what each event says, that
// the package verifies what we sign, and which addresses are refused.
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { Connection, ExportFile, ExportRun } from '@/db/schema';
import { connectionPausedBody, deliveryFailedBody, filesReadyBody } from './payloads';
import { generateWebhookSecret } from './secret';
import { resetEnv } from '@/lib/env';
import { resetOutboundPolicy } from '@/lib/net/outbound-policy';
import { refusalOf } from './outbound';

function allowNetworks(list: string | undefined) {
  resetEnv({ DDE_OUTBOUND_ALLOWED_NETWORKS: list });
  resetOutboundPolicy();
}
import { signWebhook } from './sign';
import { webhookBackoffMs } from './deliveries';

const at = new Date('2026-11-28T12:06:00Z');
const connection = {
  id: '6f1c1f7e-3d4b-4a8e-9a51-0c1d2e3f4a5b',
  programId: 4021,
  kind: 'sftp',
  name: 'Acme warehouse',
  sftpHost: 'sftp.acme.example',
  secretCiphertext: 'v1.kid.iv.ct.tag',
} as Connection;
const run = {
  id: '0b7e3c1a-2f4d-4e6a-8b9c-1d2e3f4a5b6c',
  exportType: 'incremental',
  status: 'delivered',
  historicalRequestId: null,
  sequence: 412,
  windowStart: new Date('2026-11-28T08:00:00Z'),
  windowEnd: new Date('2026-11-28T12:00:00Z'),
} as ExportRun;
const file = {
  id: 'f0000000-0000-4000-8000-000000000001',
  name: '4021-11-28-2026-08-activity-incremental.gz',
  fileType: 'activity',
  rows: 1200,
  bytes: 48100,
  sha256: 'a'.repeat(64),
} as ExportFile;

describe('webhook bodies', () => {
  it('files.ready names the connection, run, window, export type and each file; API files get their metadata URL', () => {
    const sftp = filesReadyBody(at, connection, run, [file], 'https://dde.example/app');
    expect(sftp).toEqual({
      type: 'files.ready',
      timestamp: '2026-11-28T12:06:00.000Z',
      data: {
        connection: { id: connection.id, program_id: 4021, kind: 'sftp', name: 'Acme warehouse' },
        run: { id: run.id, export_type: 'incremental', status: 'delivered', historical_request_id: null },
        window: { start: '2026-11-28T08:00:00.000Z', end: '2026-11-28T12:00:00.000Z' },
        export_type: 'incremental',
        sequence: 412,
        empty: false,
        manifest_signature: null,
        files: [{ name: file.name, type: 'activity', rows: 1200, bytes: 48100, sha256: 'a'.repeat(64) }],
      },
    });
    const api = filesReadyBody(at, { ...connection, kind: 'api', name: null }, run, [file], 'https://dde.example/app');
    expect((api.data.connection as { name: string }).name).toBe('API connection');
    expect((api.data.files as { metadata_url: string }[])[0].metadata_url).toBe(
      `https://dde.example/api/v1/data_exports/activities/${file.id}`,
    );
    expect(JSON.stringify([sftp, api])).not.toContain('v1.kid');
  });

  it('files.ready for an empty window: its manifest alone, with the sequence and the manifest’s signature', () => {
    const signature = '{"alg":"EdDSA","kid":"ed25519-0123","signature":"…"}\n';
    const manifest = {
      ...file,
      id: 'f0000000-0000-4000-8000-000000000002',
      name: '4021-11-28-2026-08-manifest-incremental.json',
      fileType: 'manifest',
      rows: 0,
      signature,
    } as ExportFile;
    const body = filesReadyBody(at, connection, { ...run, status: 'empty' }, [manifest], 'https://dde.example/app');
    expect(body.data).toMatchObject({
      run: { status: 'empty' },
      sequence: 412,
      empty: true,
      manifest_signature: signature,
      files: [{ name: manifest.name, type: 'manifest', rows: 0, signature }],
    });
  });

  it('delivery.failed carries the error class and what to do; connection.paused who and why', () => {
    const failed = deliveryFailedBody(at, connection, run, {
      errorClass: 'auth_failed',
      title: 'sign-in rejected',
      message: 'All configured authentication methods failed.',
      whatToDo: 'Ask the administrator whether the key changed.',
      retryable: false,
      attempts: 1,
    });
    expect(failed.data).toMatchObject({
      error: { class: 'auth_failed', title: 'sign-in rejected', retryable: false },
      what_to_do: 'Ask the administrator whether the key changed.',
      attempts: 1,
      retry_possible_until: null,
    });
    const paused = connectionPausedBody(at, connection, { pausedBy: 'ops@firstup.example', reason: 'Server maintenance.' });
    expect(paused).toEqual({
      type: 'connection.paused',
      timestamp: '2026-11-28T12:06:00.000Z',
      data: {
        connection: { id: connection.id, program_id: 4021, kind: 'sftp', name: 'Acme warehouse' },
        paused_by: 'ops@firstup.example',
        reason: 'Server maintenance.',
        paused_at: '2026-11-28T12:06:00.000Z',
      },
    });
  });
});

describe('signatures', () => {
  it('signs id.timestamp.body so the standardwebhooks package verifies it, and nothing else', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const body = '{"type":"webhook.test"}';
    const now = new Date();
    const headers = signWebhook(secret, 'msg_1', now, body);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'webhook.test' });
    expect(() => new Webhook(secret).verify(body + ' ', headers)).toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('backs off exponentially from 30 s, capped at 4 hours', () => {
    expect([1, 2, 3, 4, 10, 20].map(webhookBackoffMs)).toEqual([30_000, 60_000, 120_000, 240_000, 4 * 3_600_000, 4 * 3_600_000]);
  });
});

describe('outbound addresses', () => {
  it('refuses loopback, private, link-local, metadata, CGNAT and IPv6 internal addresses; allows public ones', () => {
    allowNetworks(undefined); // nothing allowed, not even the test suites' own 127.0.0.1
    for (const ip of [
      '127.0.0.1',
      '10.0.0.5',
      '172.16.3.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ])
      expect(refusalOf(ip, 443), ip).toMatch(/DDE does not connect to .*DDE_OUTBOUND_ALLOWED_NETWORKS/);
    for (const ip of ['203.0.113.7', '8.8.8.8', '2001:4860:4860::8888', '172.32.0.1']) expect(refusalOf(ip, 443), ip).toBeNull();
  });

  it('allows exactly the networks the operator allows', () => {
    allowNetworks('127.0.0.1/32,10.20.0.0/16');
    try {
      expect(refusalOf('127.0.0.1', 443)).toBeNull();
      expect(refusalOf('127.0.0.2', 443)).toMatch(/rule "loopback"/);
      expect(refusalOf('10.20.9.9', 443)).toBeNull();
      expect(refusalOf('10.21.0.1', 443)).toMatch(/rule "private"/);
    } finally {
      allowNetworks('127.0.0.1/32');
    }
  });
});
