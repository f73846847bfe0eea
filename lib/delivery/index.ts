// SFTP delivery: connect with a pinned host key, upload atomically, classify every failure.
export { deliverFiles, inferFileKind, orderForDelivery } from './deliver-files';
export type {
  DeliverFilesInput,
  DeliveredFile,
  DeliveryDestination,
  DeliveryFile,
  DeliveryFileKind,
  DeliveryProgress,
  DeliveryResult,
} from './deliver-files';
export {
  classifyDeliveryError,
  DELIVERY_ERROR_CODES,
  DeliveryAbortedError,
  DeliveryError,
  isDeliveryAborted,
  RETRYABLE,
  SFTP_STATUS,
  type DeliveryErrorCode,
  type DeliveryStage,
} from './errors';
export { FINGERPRINT_PATTERN, hostKeyFingerprint, normalizeFingerprint, publicKeyLineFingerprint } from './fingerprint';
export { destinationFolderProblem, destinationFolderSchema, normalizeDestinationFolder, remotePathIn } from './folder';
export { DEFAULT_TIMEOUTS, type SftpAuth, type SftpTimeouts } from './session';
export { CONNECTION_TEST_STEPS, testConnection } from './test-connection';
export type { ConnectionTestReport, ConnectionTestStep, ConnectionTestStepResult, StepError, TestConnectionInput } from './test-connection';
