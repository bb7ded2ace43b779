import { Schema } from "effect"

/**
 * Why a sealed value could not be read.
 *
 * - `UnknownKey`: the key id in the header is not in the keyring.
 * - `AuthenticationFailed`: the AES-GCM tag did not verify. AES-GCM cannot tell a modified value from one
 *   opened with another binding (workspace, provider, slot), so both land here.
 * - `UnsupportedVersion`: the format version byte is not one this build can read.
 * - `Malformed`: the bytes are too short or the header is not well formed.
 */
export const SealedSecretFailureReason = Schema.Literal(
  "UnknownKey",
  "AuthenticationFailed",
  "UnsupportedVersion",
  "Malformed"
)
export type SealedSecretFailureReason = typeof SealedSecretFailureReason.Type

export class SealedSecretError extends Schema.TaggedError<SealedSecretError>()("SealedSecretError", {
  reason: SealedSecretFailureReason,
  keyId: Schema.optional(Schema.String)
}) {
  override get message(): string {
    switch (this.reason) {
      case "UnknownKey":
        return `Sealed secret uses key id "${this.keyId ?? "?"}", which is not in the keyring`
      case "AuthenticationFailed":
        return "Sealed secret failed authentication: it was modified or belongs to another workspace, provider or slot"
      case "UnsupportedVersion":
        return "Sealed secret has an unsupported format version"
      case "Malformed":
        return "Sealed secret is malformed"
    }
  }
}
