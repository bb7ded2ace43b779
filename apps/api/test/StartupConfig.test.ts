import { assert, describe, it } from "@effect/vitest"
import { runMain } from "@findry/observability/testing"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

const validEnv = {
  FINDRY_AUTH_SECRET: "a".repeat(40),
  FINDRY_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}`,
  FINDRY_FINGERPRINT_KEY: Buffer.alloc(32, 9).toString("base64"),
  DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
  PORT: "3999"
}

const start = (env: Record<string, string>) => runMain(main, env)

const without = (name: keyof typeof validEnv) => {
  const { [name]: _, ...rest } = validEnv
  return rest
}

describe("start-up configuration", () => {
  for (const name of ["FINDRY_AUTH_SECRET", "FINDRY_ENCRYPTION_KEYS", "FINDRY_FINGERPRINT_KEY"] as const) {
    it.live(`refuses to start with one line naming ${name} when it is missing`, () =>
      Effect.gen(function*() {
        const result = yield* start(without(name))
        assert.strictEqual(result.code, 1)
        const lines = result.stderr.trim().split("\n")
        assert.strictEqual(lines.length, 1, result.stderr)
        assert.match(lines[0]!, new RegExp(`^Configuration error: .*${name} is not set`))
        assert.strictEqual(result.stdout, "")
      }), { timeout: 60_000 })
  }

  it.live("names a malformed value without echoing it", () =>
    Effect.gen(function*() {
      const result = yield* start({
        ...validEnv,
        FINDRY_AUTH_SECRET: "too-short-secret",
        PORT: "not-a-port",
        FINDRY_WORKSPACES_PER_USER_PER_HOUR: "0",
        OTEL_EXPORTER_OTLP_ENDPOINT: "collector-host:4318"
      })
      assert.strictEqual(result.code, 1)
      const lines = result.stderr.trim().split("\n")
      assert.strictEqual(lines.length, 1, result.stderr)
      assert.include(lines[0]!, "FINDRY_AUTH_SECRET is invalid")
      assert.include(lines[0]!, "PORT is invalid")
      assert.include(lines[0]!, "FINDRY_WORKSPACES_PER_USER_PER_HOUR is invalid")
      assert.include(lines[0]!, "OTEL_EXPORTER_OTLP_ENDPOINT is invalid")
      assert.notInclude(lines[0]!, "too-short-secret")
      assert.notInclude(lines[0]!, "collector-host")
    }), { timeout: 60_000 })
})
