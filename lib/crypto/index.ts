// Secret encryption at rest (see secrets.ts).
export {
  connectionSecretSchema,
  decryptSecret,
  encryptSecret,
  SecretDecryptionError,
  type ConnectionSecret,
  type SftpSecret,
  type SecretErrorReason,
} from './secrets';
