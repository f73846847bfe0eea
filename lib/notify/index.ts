// Email to a connection's contacts: composition, sending (SMTP or .eml files) and the outbox.
export {
  composeConnectionActive,
  composeConnectionIssue,
  composeDeliveryReport,
  describeSftpDestination,
  errorTitle,
  formatBytes,
  type ComposedEmail,
  type ConnectionActiveInput,
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
