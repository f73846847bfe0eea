// The export engine: file specs, SQL, encoders, the one generation path and run generation.
export {
  generateExportFiles,
  type ExportFileDescriptor,
  type ExportProgram,
  type ExportProgress,
  type GeneratedFiles,
  type GenerateFilesInput,
} from './generate';
export { buildManifest, manifestBytes, type ManifestDocument, type ManifestFileEntry } from './manifest';
export { generateRun, type GenerateRunOptions, type GenerateRunResult } from './run';
export { ClaimLostError, ExportAbortedError, RunBusyError, isClaimLost, isExportAborted } from './errors';
export { DATA_FILE_TYPES, SCHEMA_VERSION, csvHeader, headers, type DataFileType } from './columns';
export {
  attemptClaimOf,
  attemptKeyPrefix,
  dataFileName,
  manifestName,
  sidecarName,
  sidecarKey,
  sidecarContent,
  runKeyPrefix,
  windowStamp,
  isoSeconds,
} from './names';
export { pseudonymize } from './pseudonym';
export { copySql, selectSql } from './sql';
export {
  keysFromJwks,
  parseSignature,
  publishedKeys,
  rotateSigningKey,
  signatureName,
  signManifest,
  SIGNATURE_SUFFIX,
  verifyManifestSignature,
  type Jwks,
  type SigningJwk,
} from './signing';
