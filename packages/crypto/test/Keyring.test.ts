import { assert, describe, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, Effect, Either, Layer, Redacted } from "effect"
import { Keyring } from "../src/index.js"
import { containsSecretFragment, keys, randomKey } from "./fixtures.js"

const VARIABLE = "FINDRY_ENCRYPTION_KEYS"

const loadFromEnv = (env: ReadonlyArray<readonly [string, string]>) =>
  Keyring.pipe(
    Effect.provide(Keyring.Default.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(env))))))
  )

const assertConfigError = (error: ConfigError.ConfigError, secrets: ReadonlyArray<string>, mentions: string) => {
  assert.isTrue(ConfigError.isConfigError(error))
  assert.isTrue(ConfigError.isInvalidData(error) || ConfigError.isMissingData(error))
  const rendered = String(error)
  assert.deepStrictEqual("path" in error ? error.path : [], [VARIABLE])
  assert.include(rendered, VARIABLE)
  assert.include(rendered, mentions)
  assert.isFalse(containsSecretFragment(rendered, secrets), rendered)
  for (const secret of secrets) {
    const bytes = Buffer.from(secret, "base64")
    assert.notInclude(rendered, bytes.toString("hex"))
    assert.notInclude(rendered, bytes.toString("latin1"))
  }
}

describe("Keyring", () => {
  it.effect("reads ordered entries: the first seals, all open", () =>
    Effect.gen(function*() {
      const keyring = yield* loadFromEnv([[VARIABLE, ` 2026-11:${keys.k2} ,\nk1:${keys.k1}`]])
      assert.strictEqual(keyring.currentKeyId, "2026-11")
      assert.deepStrictEqual(keyring.keyIds, ["2026-11", "k1"])
      assert.isTrue(keyring.hasKey("k1"))
      const rendered = `${String(keyring)} ${JSON.stringify(keyring)}`
      assert.include(rendered, "2026-11")
      assert.isFalse(containsSecretFragment(rendered, [keys.k1, keys.k2]))
    }))

  it.effect("accepts a 32-character key id of letters, digits, - and _", () =>
    Effect.gen(function*() {
      const id = "Key_2026-11-abcdefghijklmnopqrst"
      assert.strictEqual(id.length, 32)
      const keyring = yield* Keyring.fromString(Redacted.make(`${id}:${keys.k1}`))
      assert.strictEqual(keyring.currentKeyId, id)
    }))

  it.effect("missing variable: a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadFromEnv([]))
      assert.isTrue(ConfigError.isMissingData(error))
      assertConfigError(error, [], "is not set")
    }))

  const invalid: ReadonlyArray<readonly [string, string, ReadonlyArray<string>, string]> = [
    ["empty", "", [], "is empty"],
    ["blank", "  ", [], "is empty"],
    ["an entry without key id", keys.k1, [keys.k1], "entry 1 is not of the form keyId:base64"],
    ["an empty key id", `:${keys.k1}`, [keys.k1], "entry 1 has an invalid key id"],
    ["a key id with other characters", `k 1:${keys.k1}`, [keys.k1], "entry 1 has an invalid key id"],
    ["a key id of 33 characters", `${"k".repeat(33)}:${keys.k1}`, [keys.k1], "entry 1 has an invalid key id"],
    ["a key that is not base64", `k1:${keys.k1.slice(0, 20)}!${keys.k1.slice(21)}`, [keys.k1], "not valid base64"],
    ["an unpadded key", `k1:${keys.k1.replace(/=+$/, "")}`, [keys.k1], "not valid base64"],
    ["an empty entry", `k2:${keys.k2},,k1:${keys.k1}`, [keys.k1, keys.k2], "entry 2 is empty"],
    ["a trailing comma", `k2:${keys.k2},`, [keys.k2], "entry 2 is empty"],
    [
      "a duplicate key id",
      `k1:${keys.k1},k2:${keys.k2},k1:${keys.k3}`,
      [keys.k1, keys.k2, keys.k3],
      "entry 3 (key id \"k1\") repeats the key id of entry 1"
    ],
    ["a 16-byte key", `k1:${randomKey(16)}`, [], "key is 16 bytes, must be exactly 32"],
    ["a 31-byte key", `k1:${keys.k1},k2:${randomKey(31)}`, [keys.k1], "entry 2 (key id \"k2\"): key is 31 bytes"],
    ["a 33-byte key", `k1:${randomKey(33)}`, [], "key is 33 bytes"],
    ["a 64-byte key", `k1:${randomKey(64)}`, [], "key is 64 bytes"]
  ]

  for (const [name, value, secrets, mentions] of invalid) {
    it.effect(`${name}: a ConfigError naming the variable, without key material`, () =>
      Effect.gen(function*() {
        const allSecrets = [...secrets, ...value.split(",").map((entry) => entry.slice(entry.indexOf(":") + 1))]
          .filter((secret) => secret.length >= 8)
        const error = yield* Effect.flip(loadFromEnv([[VARIABLE, value]]))
        assert.isTrue(ConfigError.isInvalidData(error))
        assertConfigError(error, allSecrets, mentions)
        const parsed = Keyring.fromString(value)
        assert.isTrue(Either.isLeft(parsed))
        assert.strictEqual(String(Either.flip(parsed).pipe(Either.getOrThrow)), String(error))
      }))
  }

  it.effect("reports every problem at once", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Keyring.fromString(`k1:${randomKey(16)},bad id:${keys.k2},k1:${keys.k3}`))
      const rendered = String(error)
      assert.include(rendered, "entry 1 (key id \"k1\"): key is 16 bytes")
      assert.include(rendered, "entry 2 has an invalid key id")
      assert.include(rendered, "entry 3 (key id \"k1\") repeats the key id of entry 1")
      assert.isFalse(containsSecretFragment(rendered, [keys.k2, keys.k3]))
    }))
})
