import { assert, describe, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, Effect, Layer, Redacted } from "effect"
import { createHash, createHmac } from "node:crypto"
import { Fingerprinter } from "../src/index.js"
import { containsSecretFragment, randomKey } from "./fixtures.js"

const VARIABLE = "FINDRY_FINGERPRINT_KEY"

const fingerprinterWith = (key: string | undefined) =>
  Fingerprinter.pipe(
    Effect.provide(
      Fingerprinter.Default.pipe(
        Layer.provide(
          Layer.setConfigProvider(ConfigProvider.fromMap(new Map(key === undefined ? [] : [[VARIABLE, key]])))
        )
      )
    )
  )

describe("Fingerprinter", () => {
  it.effect("is stable for a key and differs per key and per value", () =>
    Effect.gen(function*() {
      const keyA = randomKey()
      const a = yield* fingerprinterWith(keyA)
      const again = yield* fingerprinterWith(keyA)
      const b = yield* fingerprinterWith(randomKey())
      const value = Redacted.make("amp-secret-0123456789")
      const fingerprint = a.fingerprint(value)
      assert.match(fingerprint, /^[0-9a-f]{64}$/)
      assert.strictEqual(a.fingerprint(value), fingerprint)
      assert.strictEqual(again.fingerprint(Redacted.make("amp-secret-0123456789")), fingerprint)
      assert.notStrictEqual(b.fingerprint(value), fingerprint)
      assert.notStrictEqual(a.fingerprint(Redacted.make("amp-secret-0123456788")), fingerprint)
      assert.notStrictEqual(fingerprint, createHash("sha256").update("amp-secret-0123456789").digest("hex"))
    }))

  it.effect("is HMAC-SHA-256 keyed by the decoded base64 key, or by the raw string otherwise", () =>
    Effect.gen(function*() {
      const base64Key = randomKey(48)
      const stringKey = "correct horse battery staple, a long passphrase"
      const value = "amp-secret-0123456789"
      assert.strictEqual(
        (yield* fingerprinterWith(base64Key)).fingerprint(Redacted.make(value)),
        createHmac("sha256", Buffer.from(base64Key, "base64")).update(value).digest("hex")
      )
      assert.strictEqual(
        (yield* fingerprinterWith(stringKey)).fingerprint(Redacted.make(value)),
        createHmac("sha256", stringKey).update(value).digest("hex")
      )
    }))

  const invalid: ReadonlyArray<readonly [string, string | undefined, string]> = [
    ["missing", undefined, "is not set"],
    ["empty", "", "is empty"],
    ["base64 of 16 bytes", randomKey(16), "is too short"],
    ["a 31-character string", "abcdefghij klmnopqrst uvwxyz 12", "is too short"]
  ]
  for (const [name, key, mentions] of invalid) {
    it.effect(`${name}: a ConfigError naming the variable, without the value`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(fingerprinterWith(key))
        assert.isTrue(ConfigError.isConfigError(error))
        const rendered = String(error)
        assert.deepStrictEqual("path" in error ? error.path : [], [VARIABLE])
        assert.include(rendered, VARIABLE)
        assert.include(rendered, mentions)
        assert.isFalse(containsSecretFragment(rendered, key === undefined ? [] : [key]))
      }))
  }
})
