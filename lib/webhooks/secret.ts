// An endpoint's signing secret: "whsec_" + base64 of 24 random bytes (the Standard Webhooks form),
// shown once when the endpoint is created and stored encrypted with lib/crypto (AES-256-GCM, the
// same key as SFTP secrets, associated data "webhook:<endpoint id>" so it decrypts on that row only).
import { randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret } from '@/lib/crypto';

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

const aad = (endpointId: string) => `webhook:${endpointId}`;

export function encryptWebhookSecret(secret: string, endpointId: string): string {
  return encryptSecret({ method: 'password', password: secret }, aad(endpointId));
}

export function decryptWebhookSecret(ciphertext: string, endpointId: string): string {
  const s = decryptSecret(ciphertext, aad(endpointId));
  if (s.method !== 'password') throw new Error('The stored webhook secret has an unexpected shape.');
  return s.password;
}
