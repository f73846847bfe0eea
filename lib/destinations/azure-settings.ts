// An Azure Blob Storage destination's settings as the API takes them and `connections.destination`
// keeps them (never its key or SAS token). zod only: client-safe. The key layout is S3's (lakeKey).
import { z } from 'zod';
import { keyPrefixSchema } from './s3-settings';

export const azureSettingsSchema = z
  .object({
    account: z
      .string({ error: 'Enter the storage account name.' })
      .trim()
      .regex(/^[a-z0-9]{3,24}$/, 'The storage account name is 3 to 24 lowercase letters and digits.'),
    container: z
      .string({ error: 'Enter the container name.' })
      .trim()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'The container name is 3 to 63 lowercase letters, digits and single hyphens.'),
    prefix: keyPrefixSchema.default(''),
    /** Another blob endpoint (an emulator, a sovereign cloud): the account's URL, e.g. http://127.0.0.1:10000/devstoreaccount1. */
    endpoint: z
      .url({ protocol: /^https?$/, error: 'The endpoint is an http:// or https:// URL of the account.' })
      .max(300)
      .transform((u) => u.replace(/\/+$/, ''))
      .nullish(),
    auth: z.enum(['account_key', 'sas'], { error: 'auth must be "account_key" or "sas".' }),
    /** When the SAS token expires (its `se`), read from the token at set-up: the daily check warns before. */
    sas_expires_at: z.iso.datetime({ offset: true }).nullish(),
  })
  .strict();
export type AzureSettings = z.output<typeof azureSettingsSchema>;

/** The account's blob URL. */
export function azureAccountUrl(s: Pick<AzureSettings, 'account' | 'endpoint'>): string {
  return s.endpoint ?? `https://${s.account}.blob.core.windows.net`;
}

/** The expiry (`se`) a SAS token names, or null. */
export function sasExpiry(token: string): Date | null {
  const se = new URLSearchParams(token.replace(/^\?/, '')).get('se');
  if (!se) return null;
  const d = new Date(se);
  return Number.isNaN(d.getTime()) ? null : d;
}
