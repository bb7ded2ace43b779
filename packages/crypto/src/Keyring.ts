import { Config, ConfigError, Context, Either, Layer, Option, Redacted } from "effect"
import { KEY_ID_PATTERN, KEY_LENGTH, type LoadedKeyring, makeKeyring } from "./internal/KeyMaterial.js"

export type { LoadedKeyring } from "./internal/KeyMaterial.js"

export const ENCRYPTION_KEYS_VARIABLE = "FINDRY_ENCRYPTION_KEYS"

const EXPECTED = "expected comma-separated keyId:base64 entries, newest first, each key exactly 32 bytes " +
  "(e.g. k1:$(openssl rand -base64 32)); key ids are 1-32 letters, digits, \"-\" or \"_\""

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

interface Entry {
  readonly id: string
  readonly key: Buffer
}

const parseEntry = (raw: string, position: number, seen: Map<string, number>): Either.Either<Entry, string> => {
  const entry = raw.trim()
  if (entry === "") return Either.left(`entry ${position} is empty`)
  const colon = entry.indexOf(":")
  if (colon < 0) return Either.left(`entry ${position} is not of the form keyId:base64`)
  const id = entry.slice(0, colon).trim()
  if (!KEY_ID_PATTERN.test(id)) return Either.left(`entry ${position} has an invalid key id`)
  const label = `entry ${position} (key id "${id}")`
  const first = seen.get(id)
  if (first !== undefined) return Either.left(`${label} repeats the key id of entry ${first}`)
  seen.set(id, position)
  const encoded = entry.slice(colon + 1).trim()
  if (!CANONICAL_BASE64.test(encoded)) return Either.left(`${label}: key is not valid base64`)
  const key = Buffer.from(encoded, "base64")
  if (key.length !== KEY_LENGTH) {
    key.fill(0)
    return Either.left(`${label}: key is ${key.length} bytes, must be exactly ${KEY_LENGTH}`)
  }
  return Either.right({ id, key })
}

/** Parses the keyring text. Problems name entries by position and key id, never by key material. */
const parse = (text: string): Either.Either<LoadedKeyring, string> => {
  if (text.trim() === "") return Either.left(`is empty; ${EXPECTED}`)
  const problems: Array<string> = []
  const entries: Array<Entry> = []
  const seen = new Map<string, number>()
  for (const [index, raw] of text.split(",").entries()) {
    Either.match(parseEntry(raw, index + 1, seen), {
      onLeft: (problem) => problems.push(problem),
      onRight: (entry) => entries.push(entry)
    })
  }
  const [first, ...rest] = entries
  if (problems.length > 0 || first === undefined) {
    for (const entry of entries) entry.key.fill(0)
    return Either.left(`${problems.join("; ")}; ${EXPECTED}`)
  }
  return Either.right(makeKeyring([first, ...rest]))
}

const fromRedacted = (value: Redacted.Redacted<string>): Either.Either<LoadedKeyring, ConfigError.ConfigError> =>
  Either.mapLeft(
    parse(Redacted.value(value)),
    (message) => ConfigError.InvalidData([ENCRYPTION_KEYS_VARIABLE], message)
  )

/**
 * `FINDRY_ENCRYPTION_KEYS`: ordered `keyId:base64` entries. The first key seals; every key opens.
 * Every failure is a `ConfigError` whose path is the variable name.
 */
export const keyringConfig: Config.Config<LoadedKeyring> = Config.option(Config.redacted(ENCRYPTION_KEYS_VARIABLE))
  .pipe(
    Config.mapOrFail(Option.match({
      onNone: () => Either.left(ConfigError.MissingData([ENCRYPTION_KEYS_VARIABLE], `is not set; ${EXPECTED}`)),
      onSome: (value) => fromRedacted(value)
    }))
  )

export class Keyring extends Context.Tag("@findry/crypto/Keyring")<Keyring, LoadedKeyring>() {
  /** Reads `FINDRY_ENCRYPTION_KEYS`. */
  static readonly Default: Layer.Layer<Keyring, ConfigError.ConfigError> = Layer.effect(Keyring, keyringConfig)

  /** Parses keyring text in the `FINDRY_ENCRYPTION_KEYS` format, failing exactly as the config would. */
  static fromString(text: string | Redacted.Redacted<string>): Either.Either<LoadedKeyring, ConfigError.ConfigError> {
    return fromRedacted(Redacted.isRedacted(text) ? text : Redacted.make(text))
  }

  static layerFromString(text: string | Redacted.Redacted<string>): Layer.Layer<Keyring, ConfigError.ConfigError> {
    return Layer.effect(Keyring, Keyring.fromString(text))
  }
}
