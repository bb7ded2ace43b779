import { assert, describe, layer } from "@effect/vitest"
import { makeFleetGovernor } from "@findry/amplitude-adapter"
import { projectGovernorKey, TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { spawnMain } from "@findry/observability/testing"
import { TestDatabase, TestSqlLive } from "@findry/persistence/testing"
import { Data, Deferred, Duration, Effect, Exit, Layer, Redacted, Ref, Schedule } from "effect"
import { fileURLToPath } from "node:url"

const driver = fileURLToPath(new URL("./support/DriveCalls.ts", import.meta.url))

const CALLS = 100
const LATENCY_MS = 40

class ConditionTimeout extends Data.TaggedError("ConditionTimeout")<{ readonly what: string }> {}

const eventually = <A, E, R>(what: string, check: Effect.Effect<A, E, R>, holds: (a: A) => boolean, ms: number) =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: holds }),
    Effect.timeoutFail({ duration: Duration.millis(ms), onTimeout: () => new ConditionTimeout({ what }) })
  )

interface Driver {
  readonly done: Effect.Effect<number>
  readonly exited: Deferred.Deferred<{ readonly code: number | null; readonly output: string }>
  readonly kill: Effect.Effect<void>
}

/** One driver process (see `support/DriveCalls.ts`), killed when the scope closes if it still runs. */
const startDriver = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const exited = yield* Deferred.make<{ readonly code: number | null; readonly output: string }>()
      const child = spawnMain(driver, env)
      let done = 0
      let output = ""
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString()
        const last = [...output.matchAll(/^done (\d+)$/gm)].at(-1)
        if (last !== undefined) done = Number(last[1])
      })
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
      child.on("close", (code) => Deferred.unsafeDone(exited, Exit.succeed({ code, output })))
      return { done: Effect.sync(() => done), exited, kill: Effect.sync(() => child.kill("SIGKILL")), child } as const
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  ).pipe(Effect.map((driver): Driver => driver))

const TestLive = Layer.mergeAll(TestSqlLive(), AmplitudeEmulator.layer({ demoProjects: false }))

// Several processes sharing the governor need a PostgreSQL server.
describe.skipIf(process.env.TEST_DATABASE_URL === undefined)("Amplitude limits across processes", () => {
  layer(TestLive, { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.scoped(
      `3 processes, ${CALLS} calls each at one project: ≤ 5 in flight at Amplitude, no 429; a killed one's slots come back`,
      () =>
        Effect.gen(function*() {
          const emulator = yield* AmplitudeEmulator
          const database = yield* TestDatabase
          const project = yield* emulator.createProject({ id: "fleet", data: { users: 5, days: 7 } })
          yield* emulator.injectFault({ project: project.id, kind: "latency", ms: LATENCY_MS })
          const env = (policy: "interactive" | "background"): Record<string, string> => ({
            DATABASE_URL: Redacted.value(database.url),
            FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
            AMPLITUDE_US_URL: emulator.urls.us,
            AMPLITUDE_EU_URL: emulator.urls.eu,
            AMPLITUDE_EXPERIMENT_US_URL: emulator.urls.experimentUs,
            AMPLITUDE_EXPERIMENT_EU_URL: emulator.urls.experimentEu,
            AMPLITUDE_TIMEOUT_MS: "10000",
            DRIVE_CALLS: String(CALLS),
            DRIVE_POLICY: policy,
            DRIVE_API_KEY: project.apiKey,
            DRIVE_SECRET_KEY: project.secretKey
          })
          // Two API-like processes (interactive calls) and one scheduler-like process (background calls).
          const [api1, api2, worker] = yield* Effect.all([
            startDriver(env("interactive")),
            startDriver(env("interactive")),
            startDriver(env("background"))
          ])

          yield* eventually("the first process is mid-run", api1.done, (n) => n >= 30, 60_000)
          yield* api1.kill
          const killedAt = Date.now()

          for (const survivor of [api2, worker]) {
            const { code, output } = yield* Deferred.await(survivor.exited).pipe(
              Effect.timeoutFail({
                duration: "60 seconds",
                onTimeout: () => new ConditionTimeout({ what: "a surviving process finishes" })
              })
            )
            assert.strictEqual(code, 0, output)
            assert.match(output, /^finished /m)
            assert.match(output, /Amplitude limits are shared by every process on the PostgreSQL database/)
          }
          assert.isBelow(yield* api1.done, CALLS, "the killed process was still running")

          // All 5 slots can be taken again: the killed process's went with its connection.
          const fresh = yield* makeFleetGovernor({ url: database.url })
          const started = yield* Ref.make(0)
          const release = yield* Deferred.make<void>()
          for (let n = 0; n < 5; n++) {
            yield* Effect.fork(
              fresh.throttle(projectGovernorKey("us", project.apiKey), "interactive")(
                Effect.zipRight(Ref.update(started, (count) => count + 1), Deferred.await(release))
              )
            )
          }
          yield* eventually("all 5 slots are taken again", Ref.get(started), (n) => n === 5, 10_000)
          assert.isBelow(Date.now() - killedAt, 10_000, "slots came back more than 10 s after the kill")
          yield* Deferred.succeed(release, undefined)

          const usage = yield* emulator.usage(project.id)
          assert.isAtMost(usage.maxInFlight, 5, "more than 5 requests in flight at Amplitude")
          const requests = yield* emulator.requests({ project: project.id })
          assert.strictEqual(requests.filter((request) => request.status === 429).length, 0, "Amplitude answered 429")
          assert.isAtLeast(requests.length, 2 * CALLS + 30)
        }),
      120_000
    )
  })
})
