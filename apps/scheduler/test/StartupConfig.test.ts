import { assert, describe, it } from "@effect/vitest"
import { runMain } from "@findry/observability/testing"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

const validEnv = {
  DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
  FINDRY_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}`
}

const start = (env: Record<string, string>) => runMain(main, env)

const oneLine = (result: { stderr: string }) => {
  const lines = result.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, result.stderr)
  return lines[0]!
}

describe("scheduler start-up configuration", () => {
  for (const name of ["DATABASE_URL", "FINDRY_ENCRYPTION_KEYS"] as const) {
    it.live(`refuses to start with one line naming ${name} when it is missing`, () =>
      Effect.gen(function*() {
        const { [name]: _, ...env } = validEnv
        const result = yield* start(env)
        assert.strictEqual(result.code, 1)
        assert.match(oneLine(result), new RegExp(`^Configuration error: .*${name} is not set`))
      }), { timeout: 60_000 })
  }

  it.live("names malformed values without echoing them", () =>
    Effect.gen(function*() {
      const keys = `k1:${Buffer.alloc(16, 5).toString("base64")}`
      const result = yield* start({
        ...validEnv,
        FINDRY_ENCRYPTION_KEYS: keys,
        FINDRY_RUNNER_PORT: "port-99x",
        FINDRY_SYNC_WAVE_SIZE: "0",
        FINDRY_ANNOTATION_MAX_ATTEMPTS: "0"
      })
      assert.strictEqual(result.code, 1)
      const line = oneLine(result)
      assert.match(line, /^Configuration error: /)
      assert.include(line, "FINDRY_ENCRYPTION_KEYS is invalid")
      assert.include(line, "FINDRY_RUNNER_PORT is invalid")
      assert.include(line, "FINDRY_SYNC_WAVE_SIZE")
      assert.include(line, "FINDRY_ANNOTATION_MAX_ATTEMPTS")
      assert.notInclude(line, keys)
      assert.notInclude(line, Buffer.alloc(16, 5).toString("base64"))
      assert.notInclude(line, "port-99x")
    }), { timeout: 60_000 })
})
