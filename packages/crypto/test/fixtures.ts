import { Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { Keyring, type SecretBinding, SecretSealer } from "../src/index.js"
import { SecretOpener } from "../src/SecretOpener.js"

export const randomKey = (bytes = 32): string => randomBytes(bytes).toString("base64")

export const keys = { k1: randomKey(), k2: randomKey(), k3: randomKey() } as const

export const binding: SecretBinding = {
  workspaceId: "8d0f6f4e-2c3b-4a5d-9e8f-7a6b5c4d3e2f",
  provider: "amplitude",
  slot: 1
}

export const cryptoLayer = (keyring: string) =>
  Layer.mergeAll(SecretSealer.DefaultWithoutDependencies, SecretOpener.DefaultWithoutDependencies).pipe(
    Layer.provide(Keyring.layerFromString(keyring))
  )

/** Sealer and opener over an explicit keyring, for tests that need more than one keyring at a time. */
export const servicesFor = (keyring: string) =>
  Effect.all({ sealer: SecretSealer, opener: SecretOpener }).pipe(Effect.provide(cryptoLayer(keyring)))

/** Asserts that no 8-character window of any secret occurs in `text`. */
export const containsSecretFragment = (text: string, secrets: ReadonlyArray<string>): boolean =>
  secrets.some((secret) => {
    for (let i = 0; i + 8 <= secret.length; i++) {
      if (text.includes(secret.slice(i, i + 8))) return true
    }
    return false
  })
