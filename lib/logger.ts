// Structured logs (pino). Secret-bearing fields are redacted wherever they appear.
import pino from 'pino';
import { env } from './env';

const redact = {
  paths: [
    'password',
    'passphrase',
    'privateKey',
    'private_key',
    'secret',
    'client_secret',
    'token',
    'access_token',
    'authorization',
    '*.password',
    '*.passphrase',
    '*.privateKey',
    '*.private_key',
    '*.secret',
    '*.client_secret',
    '*.token',
    '*.access_token',
    '*.authorization',
    'headers.authorization',
    'headers.cookie',
  ],
  censor: '[redacted]',
};

let root: pino.Logger | undefined;

export function logger(): pino.Logger {
  root ??= pino({ level: safeLevel(), redact, base: { pid: process.pid } });
  return root;
}

function safeLevel(): string {
  try {
    return env().logLevel;
  } catch {
    return 'info';
  }
}

export function childLogger(bindings: Record<string, unknown>): pino.Logger {
  return logger().child(bindings);
}
