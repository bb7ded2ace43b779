import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { AmplitudeConfig } from "../src/index.js"

const fromEnv = (env: Record<string, string>) =>
  Effect.provide(
    AmplitudeConfig,
    AmplitudeConfig.layerConfig.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
    )
  )

describe("AmplitudeConfig", () => {
  it.effect("defaults to Amplitude's real hosts and a 10 s timeout", () =>
    Effect.gen(function*() {
      const settings = yield* fromEnv({})
      assert.deepStrictEqual(settings.analyticsUrl, {
        us: "https://amplitude.com",
        eu: "https://analytics.eu.amplitude.com"
      })
      assert.deepStrictEqual(settings.experimentUrl, {
        us: "https://experiment.amplitude.com",
        eu: "https://experiment.eu.amplitude.com"
      })
      assert.strictEqual(Duration.toMillis(settings.timeout), 10_000)
    }))

  it.effect("reads the operator overrides, without trailing slashes", () =>
    Effect.gen(function*() {
      const settings = yield* fromEnv({
        AMPLITUDE_US_URL: "http://127.0.0.1:4001/",
        AMPLITUDE_EU_URL: "http://127.0.0.1:4002",
        AMPLITUDE_EXPERIMENT_US_URL: "http://127.0.0.1:4003",
        AMPLITUDE_EXPERIMENT_EU_URL: "http://127.0.0.1:4004",
        AMPLITUDE_TIMEOUT_MS: "250"
      })
      assert.deepStrictEqual(settings.analyticsUrl, { us: "http://127.0.0.1:4001", eu: "http://127.0.0.1:4002" })
      assert.strictEqual(settings.experimentUrl.eu, "http://127.0.0.1:4004")
      assert.strictEqual(Duration.toMillis(settings.timeout), 250)
    }))

  it.effect("names the variable of a bad value", () =>
    Effect.gen(function*() {
      const badUrl = yield* Effect.flip(fromEnv({ AMPLITUDE_EU_URL: "ftp://example.com" }))
      assert.match(String(badUrl), /AMPLITUDE_EU_URL/)
      const badTimeout = yield* Effect.flip(fromEnv({ AMPLITUDE_TIMEOUT_MS: "0" }))
      assert.match(String(badTimeout), /AMPLITUDE_TIMEOUT_MS/)
    }))

  it("the plain layer fills in defaults for what is left out", () => {
    const settings = Effect.runSync(Effect.provide(AmplitudeConfig, AmplitudeConfig.layer({ usUrl: "http://x:1" })))
    assert.strictEqual(settings.analyticsUrl.us, "http://x:1")
    assert.strictEqual(settings.analyticsUrl.eu, "https://analytics.eu.amplitude.com")
  })
})
