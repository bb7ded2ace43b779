import { Effect, Exit, Redacted } from "effect"
import * as Envelope from "./internal/Envelope.js"
import { leafSpan } from "./internal/LeafSpan.js"
import { Keyring } from "./Keyring.js"
import type { SealedSecretError } from "./SealedSecretError.js"
import type { SecretBinding } from "./SecretBinding.js"

/**
 * The only way to get a sealed value back. Exported solely as `@findry/crypto/opener`, for the provider
 * adapter that builds the outgoing request.
 */
export class SecretOpener extends Effect.Service<SecretOpener>()("@findry/crypto/SecretOpener", {
  effect: Effect.gen(function*() {
    const keyring = yield* Keyring

    const open = (
      sealed: Uint8Array,
      binding: SecretBinding
    ): Effect.Effect<Redacted.Redacted<string>, SealedSecretError> =>
      leafSpan("SecretOpener.open", () => {
        const value = Envelope.openString(keyring, sealed, binding)
        return typeof value === "string" ? Exit.succeed(Redacted.make(value)) : Exit.fail(value)
      })

    return { open } as const
  }),
  dependencies: [Keyring.Default]
}) {}
