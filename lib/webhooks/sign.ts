// Standard Webhooks signing: webhook-id, webhook-timestamp (Unix seconds) and webhook-signature
// ("v1," + base64 HMAC-SHA256 of "id.timestamp.body" with the secret's bytes), by the standardwebhooks package.
import { Webhook } from 'standardwebhooks';

export type WebhookHeaders = { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };

export function signWebhook(secret: string, msgId: string, at: Date, body: string): WebhookHeaders {
  const signature = new Webhook(secret).sign(msgId, at, body);
  return { 'webhook-id': msgId, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
}
