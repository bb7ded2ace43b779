import { Effect, Exit, Redacted } from "effect"
import * as Envelope from "./internal/Envelope.js"
import { leafSpan } from "./internal/LeafSpan.js"
import { Keyring } from "./Keyring.js"
import { redactedPrefix } from "./RedactedPrefix.js"
import type { SealedSecretError } from "./SealedSecretError.js"
import type { SecretBinding } from "./SecretBinding.js"

export interface SealedSecret {
  /** Self-describing envelope: version, key id, IV, tag and ciphertext. */
  readonly sealed: Uint8Array
  /** Safe display form, see `redactedPrefix`. */
  readonly prefix: string
}

/**
 * Seals secrets and manages sealed values without ever handing plaintext out. Opening lives in
 * `@findry/crypto/opener`.
 */
export class SecretSealer extends Effect.Service<SecretSealer>()("@findry/crypto/SecretSealer", {
  effect: Effect.gen(function*() {
    const keyring = yield* Keyring

    const seal = (value: Redacted.Redacted<string>, binding: SecretBinding): Effect.Effect<SealedSecret> =>
      leafSpan("SecretSealer.seal", () => {
        const plaintext = Redacted.value(value)
        return Exit.succeed({
          sealed: Envelope.sealString(keyring, plaintext, binding),
          prefix: redactedPrefix(plaintext)
        })
      })

    /** Re-seals under the newest key; the plaintext never leaves this package. */
    const rewrap = (sealed: Uint8Array, binding: SecretBinding): Effect.Effect<Uint8Array, SealedSecretError> =>
      leafSpan("SecretSealer.rewrap", () => Envelope.toExit(Envelope.rewrapBytes(keyring, sealed, binding)))

    const keyIdOf = (sealed: Uint8Array): Effect.Effect<string, SealedSecretError> =>
      leafSpan("SecretSealer.keyIdOf", () => Envelope.toExit(Envelope.readKeyId(sealed)))

    const usesCurrentKey = (sealed: Uint8Array): Effect.Effect<boolean, SealedSecretError> =>
      leafSpan(
        "SecretSealer.usesCurrentKey",
        () => {
          const keyId = Envelope.readKeyId(sealed)
          return typeof keyId === "string" ? Exit.succeed(keyId === keyring.currentKeyId) : Exit.fail(keyId)
        }
      )

    return { seal, rewrap, keyIdOf, usesCurrentKey, currentKeyId: keyring.currentKeyId } as const
  }),
  dependencies: [Keyring.Default]
}) {}
