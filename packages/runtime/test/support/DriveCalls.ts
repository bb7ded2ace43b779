/**
 * A service process as far as Amplitude is concerned: the production `AmplitudeLive` (with `DATABASE_URL`, the
 * fleet-wide governor) driving event-list calls at one project for `DRIVE_SECONDS`, `DRIVE_CONCURRENCY` at a time
 * (each of them starts another call until the time is up), with the `DRIVE_POLICY` call policy. With
 * `DRIVE_START_FILE`, makes `DRIVE_WARM_UP` calls first (default 0), prints `ready` and starts once that file exists.
 * Prints `finished calls=<calls made> cpu_us=<CPU time of the calls> statements=<governor statements meanwhile>` at
 * the end; exits 1 on a failure.
 */
import { NodeRuntime } from "@effect/platform-node"
import { AmplitudeClient, CallPolicy, governorStatements } from "@findry/amplitude-adapter"
import { Keyring, SecretSealer } from "@findry/crypto"
import { Config, Effect, Layer, Metric, Option } from "effect"
import { randomUUID } from "node:crypto"
import { existsSync } from "node:fs"
import { AmplitudeLive } from "../../src/index.js"

const settings = Config.all({
  seconds: Config.number("DRIVE_SECONDS"),
  concurrency: Config.integer("DRIVE_CONCURRENCY").pipe(Config.withDefault(8)),
  policy: Config.literal("interactive", "background")("DRIVE_POLICY"),
  apiKey: Config.redacted("DRIVE_API_KEY"),
  secretKey: Config.redacted("DRIVE_SECRET_KEY"),
  startFile: Config.option(Config.string("DRIVE_START_FILE")),
  warmUp: Config.integer("DRIVE_WARM_UP").pipe(Config.withDefault(0))
})

const program = Effect.gen(function*() {
  const { apiKey, concurrency, policy, secretKey, seconds, startFile, warmUp } = yield* settings
  const sealer = yield* SecretSealer
  const workspaceId = randomUUID()
  const sealed = (value: typeof apiKey, slot: number) =>
    Effect.map(sealer.seal(value, { workspaceId, provider: "amplitude", slot }), (secret) => secret.sealed)
  const amplitude = (yield* AmplitudeClient).connection(
    {
      workspaceId,
      region: "us",
      apiKey: yield* sealed(apiKey, 1),
      secretKey: yield* sealed(secretKey, 2),
      managementKey: null
    },
    { policy: CallPolicy[policy] }
  )
  if (Option.isSome(startFile)) {
    yield* Effect.forEach(Array.from({ length: warmUp }), () => amplitude.listEvents(), { concurrency, discard: true })
    process.stdout.write("ready\n")
    yield* Effect.sleep("2 millis").pipe(Effect.repeat({ until: () => existsSync(startFile.value) }))
  }
  const statementsBefore = (yield* Metric.value(governorStatements)).count
  const cpuBefore = process.cpuUsage()
  const deadline = Date.now() + seconds * 1000
  let calls = 0
  const call = Effect.zipRight(amplitude.listEvents(), Effect.sync(() => calls++))
  yield* Effect.forEach(
    Array.from({ length: concurrency }),
    () => Effect.repeat(call, { while: () => Date.now() < deadline }),
    { concurrency, discard: true }
  )
  const cpu = process.cpuUsage(cpuBefore)
  const statements = (yield* Metric.value(governorStatements)).count - statementsBefore
  process.stdout.write(`finished calls=${calls} cpu_us=${cpu.user + cpu.system} statements=${statements}\n`)
})

program.pipe(
  Effect.provide(Layer.mergeAll(AmplitudeLive, SecretSealer.Default.pipe(Layer.provide(Keyring.Default)))),
  Effect.tapErrorCause(Effect.logError),
  NodeRuntime.runMain
)
