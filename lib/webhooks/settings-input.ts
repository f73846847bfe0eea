// What the notification-settings route accepts (report mode, auto-pause threshold). It lives beside
// that route's answer (./responses.ts) and operation (./operations.ts), so the webhooks area documents
// the route without importing lib/notify, which builds on this folder. Client-safe: zod and enums only.
import { z } from 'zod';
import { REPORT_MODES } from '@/db/schema/enums';

export const notificationSettingsSchema = z
  .object({
    report_mode: z.enum(REPORT_MODES, { error: `report_mode is one of ${REPORT_MODES.join(', ')}.` }).optional(),
    auto_pause_after: z
      .number({ error: 'auto_pause_after must be a number of windows (0 = never).' })
      .int('auto_pause_after must be a whole number.')
      .min(0, 'auto_pause_after is at least 0 (0 = never pause by itself).')
      .max(100, 'auto_pause_after is at most 100.')
      .optional(),
  })
  .strict()
  .refine((v) => v.report_mode !== undefined || v.auto_pause_after !== undefined, 'Send report_mode, auto_pause_after or both.');
export type NotificationSettingsInput = z.infer<typeof notificationSettingsSchema>;
