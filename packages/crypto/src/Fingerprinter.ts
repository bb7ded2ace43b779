import { Config, ConfigError, Effect, Either, Option, Redacted } from "effect"
import { createHmac, createSecretKey, type KeyObject } from "node:crypto"

export const FINGERPRINT_KEY_VARIABLE = "FINDRY_FINGERPRINT_KEY"

const MIN_KEY_BYTES = 32
const MIN_KEY_CHARS = 32
const EXPECTED = `expected base64 of at least ${MIN_KEY_BYTES} random bytes (e.g. $(openssl rand -base64 32)) ` +
  `or a random string of at least ${MIN_KEY_CHARS} characters`
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * A value that is canonical base64 of at least 32 bytes is used decoded; any other value of at least
 * 32 characters is used as its UTF-8 bytes.
 */
const parseKey = (text: string): Either.Either<KeyObject, string> => {
  const value = text.trim()
  if (value === "") return Either.left(`is empty; ${EXPECTED}`)
  if (CANONICAL_BASE64.test(value)) {
    const decoded = Buffer.from(value, "base64")
    if (decoded.length >= MIN_KEY_BYTES) {
      const key = createSecretKey(decoded)
      decoded.fill(0)
      return Either.right(key)
    }
    decoded.fill(0)
  }
  if (Array.from(value).length < MIN_KEY_CHARS) return Either.left(`is too short; ${EXPECTED}`)
  const bytes = Buffer.from(value, "utf8")
  const key = createSecretKey(bytes)
  bytes.fill(0)
  return Either.right(key)
}

export const fingerprintKeyConfig: Config.Config<KeyObject> = Config.option(Config.redacted(FINGERPRINT_KEY_VARIABLE))
  .pipe(Config.mapOrFail(Option.match({
    onNone: () => Either.left(ConfigError.MissingData([FINGERPRINT_KEY_VARIABLE], `is not set; ${EXPECTED}`)),
    onSome: (value) =>
      Either.mapLeft(
        parseKey(Redacted.value(value)),
        (message) => ConfigError.InvalidData([FINGERPRINT_KEY_VARIABLE], message)
      )
  })))

/**
 * Keyed fingerprints of secrets (HMAC-SHA-256, lowercase hex), to recognise a value again without storing it.
 * Stable for a given `FINDRY_FINGERPRINT_KEY`; a different key gives unrelated fingerprints.
 */
export class Fingerprinter extends Effect.Service<Fingerprinter>()("@findry/crypto/Fingerprinter", {
  effect: Effect.gen(function*() {
    const key = yield* fingerprintKeyConfig

    const fingerprint = (value: Redacted.Redacted<string>): string =>
      createHmac("sha256", key).update(Redacted.value(value), "utf8").digest("hex")

    return { fingerprint } as const
  })
}) {}
