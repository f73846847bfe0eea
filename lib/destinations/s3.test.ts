// What each answer of an S3 server becomes: a fixed code, retryable or not, and a message a person
// can act on. The errors are shaped as the AWS SDK throws them (name, $metadata); answers that the
// test RGW gives are also exercised for real in test/destination-s3.test.ts.
import { describe, expect, it } from 'vitest';
import { classifyS3Error } from './s3';
import { s3SettingsSchema } from './s3-settings';

const settings = s3SettingsSchema.parse({ provider: 'aws', bucket: 'acme-lake', prefix: 'dde', region: 'eu-west-1', auth: 'access_key' });
const sdkError = (name: string, status: number, extra: object = {}) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });
const classify = (err: unknown, operation = 'PutObject') => {
  const e = classifyS3Error(err, { settings, operation });
  return { code: e.code, retryable: e.retryable, message: e.message };
};

describe('classifyS3Error', () => {
  it('gives every configuration fault its own message, not retried', () => {
    expect(classify(sdkError('InvalidAccessKeyId', 403))).toEqual({
      code: 'auth_failed',
      retryable: false,
      message: 'Amazon S3 (eu-west-1) does not know the access key. Check the access key id, or whether it was deleted.',
    });
    expect(classify(sdkError('SignatureDoesNotMatch', 403)).message).toBe(
      'Amazon S3 (eu-west-1) rejected the secret access key for the access key id. Check the secret.',
    );
    expect(classify(sdkError('PermanentRedirect', 301, { Region: 'us-west-2' }))).toEqual({
      code: 'wrong_region',
      retryable: false,
      message: 'The bucket "acme-lake" is not in eu-west-1; it is in us-west-2. Set the connection up with the bucket\'s region.',
    });
    expect(classify(sdkError('AccessDenied', 403), 'AbortMultipartUpload').message).toBe(
      "AbortMultipartUpload denied on s3://acme-lake/dde/ — add s3:AbortMultipartUpload on arn:aws:s3:::acme-lake/dde/* to the access key's policy.",
    );
  });

  it('retries throttling, server errors, lost connections and expired temporary credentials', () => {
    expect(classify(sdkError('SlowDown', 503))).toMatchObject({ code: 'throttled', retryable: true });
    expect(classify(sdkError('InternalError', 500))).toMatchObject({ code: 'unknown', retryable: true });
    expect(classify(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toMatchObject({
      code: 'unknown',
      retryable: true,
    });
    expect(classify(sdkError('ExpiredToken', 400))).toMatchObject({ code: 'auth_failed', retryable: true });
    expect(classify(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }))).toMatchObject({
      code: 'dns',
      retryable: true,
    });
  });
});
