import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { RunnerConfig } from "../src/Runner.js"

const read = (variables: Record<string, string>) =>
  Effect.withConfigProvider(RunnerConfig, ConfigProvider.fromMap(new Map(Object.entries(variables))))

describe("runner configuration", () => {
  it.effect("listens on the runner's own address unless told otherwise, never on every interface by default", () =>
    Effect.gen(function*() {
      const defaults = yield* read({})
      assert.deepStrictEqual(defaults, { mode: "socket", host: "localhost", port: 34431, listenHost: "localhost" })
      const own = yield* read({ FINDRY_RUNNER_HOST: "10.1.2.3", FINDRY_RUNNER_PORT: "4000" })
      assert.strictEqual(own.listenHost, "10.1.2.3")
      const everywhere = yield* read({ FINDRY_RUNNER_HOST: "10.1.2.3", FINDRY_RUNNER_LISTEN_HOST: "0.0.0.0" })
      assert.strictEqual(everywhere.listenHost, "0.0.0.0")
    }))
})
