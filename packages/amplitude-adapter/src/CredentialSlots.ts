import type { SecretBinding } from "@findry/crypto"
import type { CredentialSlot } from "./CredentialsUnreadable.js"

/** The `provider` of the Amplitude integration row. */
export const AMPLITUDE_PROVIDER = "amplitude"

/** The integration row's column slot of each Amplitude credential (the API key in 1, and so on). */
const SLOT_NUMBERS: Readonly<Record<CredentialSlot, number>> = { apiKey: 1, secretKey: 2, managementKey: 3 }

/**
 * What a workspace's Amplitude credential is sealed to: the same binding seals it (when an admin saves keys)
 * and opens it (here in the adapter), so a value copied to another workspace or slot no longer opens.
 */
export const credentialBinding = (workspaceId: string, slot: CredentialSlot): SecretBinding => ({
  workspaceId,
  provider: AMPLITUDE_PROVIDER,
  slot: SLOT_NUMBERS[slot]
})
