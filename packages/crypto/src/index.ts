export { FINGERPRINT_KEY_VARIABLE, Fingerprinter, fingerprintKeyConfig } from "./Fingerprinter.js"
export { ENCRYPTION_KEYS_VARIABLE, Keyring, keyringConfig, type LoadedKeyring } from "./Keyring.js"
export { redactedPrefix } from "./RedactedPrefix.js"
export {
  countByKeyId,
  type KeyUsage,
  rotateSecrets,
  type RotationFailure,
  type RotationOptions,
  type RotationProgress,
  type RotationReport,
  type SealedSecretRecord,
  SealedSecretStore
} from "./Rotation.js"
export { SealedSecretError, SealedSecretFailureReason } from "./SealedSecretError.js"
export type { SecretBinding } from "./SecretBinding.js"
export { type SealedSecret, SecretSealer } from "./SecretSealer.js"
