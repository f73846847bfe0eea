// Email to a connection's contacts: composition, sending (SMTP or .eml files) and the outbox.
export {
  composeConnectionActive,
  composeCredentialExpiry,
  composeStorageConnectionActive,
  composeConnectionIssue,
  composeConnectionPaused,
  composeConnectionRecovered,
  composePgpKeyExpiry,
  composeDailyDigest,
  composeDeliveryReport,
  describeSftpDestination,
  errorTitle,
  formatBytes,
  runErrorAdvice,
  runErrorTitle,
  type ComposedEmail,
  type ConnectionActiveInput,
  type CredentialExpiryInput,
  type StorageConnectionActiveInput,
  type ConnectionIssueInput,
  type DeliveryReportInput,
  type SftpDestinationLabel,
} from './compose';
export {
  NOTIFICATION_KINDS,
  recordNotification,
  sendPendingNotification,
  sendPendingNotifications,
  type NewNotification,
  type NotificationKind,
  type SendNotificationResult,
} from './outbox';
export { sendEmail, type EmailMessage, type SendEmailOptions, type SendEmailResult } from './send-email';
export {
  autoPauseReason,
  connectionPageUrl,
  consecutiveFailedWindows,
  destinationLabelOf,
  onConnectionPaused,
  onRunFailed,
  onRunFinished,
  reportModeOf,
  sendDailyDigests,
  type RunEventResult,
} from './run-events';
export { checkConnections, PGP_KEY_NOTICE_DAYS, type HealthCheckOptions, type HealthVerdict } from './connection-health';
export { notificationSettingsJson, updateNotificationSettings } from './settings';
export { notificationSettingsSchema, type NotificationSettingsInput } from '@/lib/webhooks/settings-input';
