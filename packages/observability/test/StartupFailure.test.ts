import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect } from "effect"
import { configErrorLine } from "../src/StartupFailure.js"

describe("configErrorLine", () => {
  it.effect("names every missing or malformed variable on one line, without their values", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Config.all([Config.redacted("FINDRY_AUTH_SECRET"), Config.port("PORT"), Config.integer("POOL")]).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PORT", "secret-looking-value"], ["POOL", "7"]])))
        )
      )
      const line = configErrorLine(error)
      assert.notInclude(line, "\n")
      assert.match(line, /^Configuration error: /)
      assert.include(line, "FINDRY_AUTH_SECRET is not set")
      assert.include(line, "PORT is invalid")
      assert.notInclude(line, "POOL")
      assert.notInclude(line, "secret-looking-value")
    }))
})
