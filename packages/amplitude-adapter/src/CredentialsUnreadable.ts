import { SealedSecretFailureReason } from "@findry/crypto"
import { Schema } from "effect"

/** Credential slots of the Amplitude integration row. */
export const CredentialSlot = Schema.Literal("apiKey", "secretKey", "managementKey")
export type CredentialSlot = typeof CredentialSlot.Type

/**
 * A stored Amplitude credential could not be opened: its encryption key left the keyring, or the sealed
 * bytes were altered or copied from another row or slot. Nothing was sent to Amplitude. The fix is on our
 * side (restore the key) or the admin's (reconnect with fresh keys); retrying does not help.
 */
export class CredentialsUnreadable extends Schema.TaggedError<CredentialsUnreadable>()("CredentialsUnreadable", {
  slot: CredentialSlot,
  reason: SealedSecretFailureReason
}) {
  override get message(): string {
    return "The stored Amplitude credentials can't be read. Reconnect Amplitude with fresh keys, or ask an " +
      `operator to restore the encryption key (${this.slot}: ${this.reason}).`
  }
}
