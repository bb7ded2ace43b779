import { SqlClient } from "@effect/sql"
import {
  AmplitudeClient,
  amplitudeClientWith,
  AmplitudeConfig,
  AmplitudeGovernor,
  FleetGovernorLive
} from "@findry/amplitude-adapter"
import { KeyringTest, TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import { SecretSealer } from "@findry/crypto"
import { spawnMain } from "@findry/observability/testing"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { Config, ConfigProvider, Context, Deferred, Duration, Effect, Exit, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const emulatorMain = fileURLToPath(new URL("./support/Emulator.ts", import.meta.url))
const driverMain = fileURLToPath(new URL("../test/support/DriveCalls.ts", import.meta.url))

const numberFrom = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`)
  return value
}

/** Sequential calls per governor for the added latency (after as many warm-up calls as a tenth of them). */
const SAMPLES = numberFrom("BENCH_GOVERNOR_SAMPLES", 400)
/**
 * How long each process drives calls in the throughput run (all of them for the same time, so that the run measures
 * the fleet while all its processes want slots), and the latency the emulator adds to each call there.
 */
const SECONDS = numberFrom("BENCH_GOVERNOR_SECONDS", 7)
const LATENCY_MS = numberFrom("BENCH_GOVERNOR_LATENCY_MS", 50)
const PROCESSES = 3
/** Calls each process makes before the measured run, so that its code is compiled. */
const WARM_UP_PER_PROCESS = 40
const BLOCK = 10
const TARGET_ADDED_MEDIAN_MS = 2
const TARGET_THROUGHPUT_SHARE = 0.9

interface EmulatorInfo {
  readonly urls: { us: string; eu: string; experimentUs: string; experimentEu: string }
  readonly projectId: string
  readonly apiKey: string
  readonly secretKey: string
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

const stats = (samples: ReadonlyArray<number>) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return { median: percentile(sorted, 50), p99: percentile(sorted, 99) }
}

const ms = (value: number) => `${value.toFixed(3)} ms`.padStart(10)

/** A child process whose stdout lines are handed to `onLine`; killed when the scope closes. */
const child = (main: string, env: Record<string, string>, onLine: (line: string) => void) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const process = spawnMain(main, env)
      let pending = ""
      let errors = ""
      process.stdout.on("data", (chunk: Buffer) => {
        pending += chunk.toString()
        const lines = pending.split("\n")
        pending = lines.pop()!
        lines.forEach(onLine)
      })
      process.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()))
      process.on("exit", (code) => {
        if (code !== 0 && code !== null) globalThis.process.stderr.write(`${main} exited ${code}\n${errors}\n`)
      })
      return process
    }),
    (process) => Effect.sync(() => process.exitCode === null && process.kill("SIGKILL"))
  )

const control = (info: EmulatorInfo, method: string, path: string, body?: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${info.urls.us}/__emulator${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return response.json() as Promise<Record<string, unknown>>
  })

const until = (condition: () => boolean, what: string, ms = 120_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!condition()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("5 millis")
    }
  })

const program = Effect.gen(function*() {
  // Like the other benchmarks: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local server.
  const adminUrl = yield* Config.string("BENCH_DATABASE_URL").pipe(
    Config.orElse(() => Config.string("TEST_DATABASE_URL")),
    Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres")
  )
  const database = yield* makeTestDatabase.pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TEST_DATABASE_URL", adminUrl]])))
  )
  const pool = yield* Layer.build(MigrationsLive.pipe(Layer.provideMerge(PgLive(database.url, { maxConnections: 1 }))))
  const sql = Context.get(pool, SqlClient.SqlClient)

  let info: EmulatorInfo | undefined
  yield* child(emulatorMain, { PATH: process.env["PATH"] ?? "" }, (line) => {
    if (line.startsWith("{")) info = JSON.parse(line) as EmulatorInfo
  })
  yield* until(() => info !== undefined, "the emulator")
  const emulator = info!

  // 1. Added latency: the same call through the in-process and the fleet-wide governor, in alternating blocks.
  const clientOn = (governor: Layer.Layer<AmplitudeGovernor>) =>
    Effect.map(
      Layer.build(
        amplitudeClientWith(governor).pipe(
          Layer.provide([
            AmplitudeConfig.layer({
              usUrl: emulator.urls.us,
              euUrl: emulator.urls.eu,
              experimentUsUrl: emulator.urls.experimentUs,
              experimentEuUrl: emulator.urls.experimentEu,
              timeout: "10 seconds"
            }),
            KeyringTest
          ])
        )
      ),
      (context) => Context.get(context, AmplitudeClient)
    )
  const sealer = yield* Effect.map(
    Layer.build(SecretSealer.DefaultWithoutDependencies.pipe(Layer.provide(KeyringTest))),
    (context) => Context.get(context, SecretSealer)
  )
  const workspaceId = randomUUID()
  const sealed = (value: string, slot: number) =>
    Effect.map(
      sealer.seal(Redacted.make(value), { workspaceId, provider: "amplitude", slot }),
      (secret) => secret.sealed
    )
  const stored = {
    workspaceId,
    region: "us" as const,
    apiKey: yield* sealed(emulator.apiKey, 1),
    secretKey: yield* sealed(emulator.secretKey, 2),
    managementKey: null
  }
  const inProcess = (yield* clientOn(AmplitudeGovernor.layer())).connection(stored)
  const fleet = (yield* clientOn(FleetGovernorLive({ url: database.url }))).connection(stored)
  // A bare database round trip, measured in the same blocks: the unit the fleet-wide governor's cost is made of.
  const roundTrip = Effect.orDie(sql`SELECT 1`)
  const calls = { inProcess, fleet, roundTrip }
  const wall = { inProcess: [] as Array<number>, fleet: [] as Array<number>, roundTrip: [] as Array<number> }
  const cpu = { inProcess: 0, fleet: 0, roundTrip: 0 }
  const warmUp = Math.max(BLOCK, Math.round(SAMPLES / 10))
  for (let done = -warmUp; done < SAMPLES; done += BLOCK) {
    for (const name of ["inProcess", "fleet", "roundTrip"] as const) {
      const cpuBefore = process.cpuUsage()
      for (let i = 0; i < BLOCK; i++) {
        const start = performance.now()
        yield* name === "roundTrip" ? calls.roundTrip : calls[name].listEvents()
        if (done >= 0) wall[name].push(performance.now() - start)
      }
      const used = process.cpuUsage(cpuBefore)
      if (done >= 0) cpu[name] += used.user + used.system
    }
  }
  const baseline = stats(wall.inProcess)
  const shared = stats(wall.fleet)
  const added = { median: shared.median - baseline.median, p99: shared.p99 - baseline.p99 }

  // 2. Throughput: 3 processes on the production layer, each driving its calls at one project with latency.
  yield* control(emulator, "POST", "/faults", { project: emulator.projectId, kind: "latency", ms: LATENCY_MS })
  yield* control(emulator, "POST", "/reset")
  // Calls from one process through the in-process governor (no coordination) for as long, 8 at a time per process
  // as the drivers do: what this machine allows with a perfect fleet-wide governor.
  const busyMillis = Effect.map(
    control(emulator, "GET", `/projects/${emulator.projectId}/usage`),
    (usage) => Number(usage["busyMillis"])
  )
  const alone = performance.now()
  let aloneCalls = 0
  yield* Effect.forEach(
    Array.from({ length: 8 * PROCESSES }),
    () =>
      Effect.repeat(Effect.zipRight(inProcess.listEvents(), Effect.sync(() => aloneCalls++)), {
        while: () => performance.now() - alone < SECONDS * 1000
      }),
    { concurrency: 8 * PROCESSES, discard: true }
  )
  const aloneSeconds = (performance.now() - alone) / 1000
  const aloneThroughput = aloneCalls / aloneSeconds
  const aloneOccupancy = (yield* busyMillis) / (5 * aloneSeconds * 1000)
  yield* control(emulator, "POST", "/reset")
  // Resolved by the last driver's "finished" line: no polling in this process while the drivers run.
  const allFinished = yield* Deferred.make<void>()
  const goFile = join(tmpdir(), `findry-bench-governor-${randomUUID()}`)
  // Runs after the drivers (started below) are killed: nothing waits for the file any more.
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(goFile, { force: true })))
  const drivers = Array.from({ length: PROCESSES }, (_, n) => ({
    ready: false,
    finishedAt: 0,
    calls: 0,
    cpuMicros: 0,
    statements: 0,
    policy: n === PROCESSES - 1 ? "background" : "interactive"
  }))
  for (const driver of drivers) {
    yield* child(driverMain, {
      PATH: process.env["PATH"] ?? "",
      DATABASE_URL: Redacted.value(database.url),
      FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      AMPLITUDE_US_URL: emulator.urls.us,
      AMPLITUDE_EU_URL: emulator.urls.eu,
      AMPLITUDE_EXPERIMENT_US_URL: emulator.urls.experimentUs,
      AMPLITUDE_EXPERIMENT_EU_URL: emulator.urls.experimentEu,
      AMPLITUDE_TIMEOUT_MS: "30000",
      DRIVE_SECONDS: String(SECONDS),
      DRIVE_POLICY: driver.policy,
      DRIVE_API_KEY: emulator.apiKey,
      DRIVE_SECRET_KEY: emulator.secretKey,
      DRIVE_START_FILE: goFile,
      DRIVE_WARM_UP: String(WARM_UP_PER_PROCESS)
    }, (line) => {
      if (line === "ready") driver.ready = true
      const finished = /^finished calls=(\d+) cpu_us=(\d+) statements=(\d+)$/.exec(line)
      if (finished !== null) {
        driver.finishedAt = performance.now()
        driver.calls = Number(finished[1])
        driver.cpuMicros = Number(finished[2])
        driver.statements = Number(finished[3])
        if (drivers.every((one) => one.finishedAt > 0)) Deferred.unsafeDone(allFinished, Exit.void)
      }
    })
  }
  yield* until(() => drivers.every((driver) => driver.ready), "the driver processes to start")
  const busyBefore = yield* busyMillis
  const started = performance.now()
  writeFileSync(goFile, "")
  yield* Deferred.await(allFinished).pipe(
    Effect.timeoutFail({
      duration: Duration.seconds(SECONDS + 60),
      onTimeout: () => "timed out waiting for the driver processes"
    }),
    Effect.orDie
  )
  const seconds = (Math.max(...drivers.map((driver) => driver.finishedAt)) - started) / 1000
  const totalCalls = drivers.reduce((sum, driver) => sum + driver.calls, 0)
  const throughput = totalCalls / seconds
  const ideal = 5 * (1000 / LATENCY_MS)
  const usage = yield* control(emulator, "GET", `/projects/${emulator.projectId}/usage`)
  // The in-flight time Amplitude's side saw: the latency it added plus its own handling of each request.
  const busy = Number(usage["busyMillis"]) - busyBefore
  const requests = yield* control(emulator, "GET", `/requests?project=${emulator.projectId}`)
  const rateLimited = (requests["requests"] as Array<{ status: number | null }>).filter((r) => r.status === 429)
  return {
    samples: wall.fleet.length,
    baseline,
    shared,
    added,
    roundTrip: stats(wall.roundTrip),
    cpuPerCall: { inProcess: cpu.inProcess / wall.inProcess.length, fleet: cpu.fleet / wall.fleet.length },
    throughput,
    aloneThroughput,
    aloneOccupancy,
    servedLatency: busy / totalCalls,
    occupancy: busy / (5 * seconds * 1000),
    ideal,
    seconds,
    totalCalls,
    driverCpuPerCall: drivers.reduce((sum, driver) => sum + driver.cpuMicros, 0) / totalCalls,
    statementsPerCall: drivers.reduce((sum, driver) => sum + driver.statements, 0) / totalCalls,
    peakInFlight: Number(usage["maxInFlight"]),
    rateLimited: rateLimited.length
  }
})

/** Runs the benchmark and prints its figures; false when a goal is missed or the limit was exceeded. */
export const runGovernorBenchmark = async (print: (line: string) => void): Promise<boolean> => {
  const result = await Effect.runPromise(Effect.scoped(program))
  const share = result.throughput / result.ideal
  const latencyOk = result.added.median <= TARGET_ADDED_MEDIAN_MS
  // Against the latency Amplitude actually served: the fault's 50 ms plus the emulator's own handling.
  const servedIdeal = 5 * (1000 / result.servedLatency)
  const throughputOk = result.throughput / servedIdeal >= TARGET_THROUGHPUT_SHARE
  const limitOk = result.peakInFlight <= 5 && result.rateLimited === 0
  const lines = [
    `Fleet-wide Amplitude governor (PostgreSQL) against the in-process one: GET /api/2/events/list on the emulator ` +
    `(its own process), ${result.samples} sequential calls each, in alternating blocks of ${BLOCK}`,
    `  in-process governor   median ${ms(result.baseline.median)}   p99 ${ms(result.baseline.p99)}   ` +
    `CPU ${(result.cpuPerCall.inProcess / 1000).toFixed(3)} ms/call`,
    `  fleet-wide governor   median ${ms(result.shared.median)}   p99 ${ms(result.shared.p99)}   ` +
    `CPU ${(result.cpuPerCall.fleet / 1000).toFixed(3)} ms/call`,
    `  added per call        median ${ms(result.added.median)}   p99 ${ms(result.added.p99)}`,
    `  database round trip   median ${ms(result.roundTrip.median)}   p99 ${ms(result.roundTrip.p99)}   ` +
    `(SELECT 1 on a pooled connection, same blocks)`,
    `  goal: median added ≤ ${TARGET_ADDED_MEDIAN_MS} ms: ${latencyOk ? "met" : "MISSED"}`,
    `Throughput of ${PROCESSES} processes (production Amplitude layer) on one project, calling for ${SECONDS} s ` +
    `each, ${LATENCY_MS} ms per call at Amplitude:`,
    `  ${result.totalCalls} calls in ${result.seconds.toFixed(2)} s = ${result.throughput.toFixed(1)} calls/s; ` +
    `5 × 1/latency = ${result.ideal.toFixed(1)} calls/s; share ${(share * 100).toFixed(1)} %`,
    `  Amplitude's side held each call ${result.servedLatency.toFixed(2)} ms on average (latency plus its own ` +
    `handling): 5 × 1/that = ${servedIdeal.toFixed(1)} calls/s; share ${
      (100 * result.throughput / servedIdeal).toFixed(1)
    } %` +
    ` (its 5 slots were busy ${(100 * result.occupancy).toFixed(1)} % of the run)`,
    `  product processes' CPU ${(result.driverCpuPerCall / 1000).toFixed(3)} ms/call; governor statements ` +
    `${result.statementsPerCall.toFixed(2)}/call; Amplitude saw at most ` +
    `${result.peakInFlight} in flight and ${result.rateLimited} answers 429`,
    `  goal: ≥ ${TARGET_THROUGHPUT_SHARE * 100} % of 5 × 1/latency as Amplitude served it: ` +
    `${throughputOk ? "met" : "MISSED"}`,
    `  calls from one process through the in-process governor (no coordination) for as long: ` +
    `${result.aloneThroughput.toFixed(1)} calls/s (${(100 * result.aloneThroughput / result.ideal).toFixed(1)} % of ` +
    `5 × 1/latency, slots busy ${(100 * result.aloneOccupancy).toFixed(1)} %); the fleet reaches ${
      (100 * result.throughput / result.aloneThroughput).toFixed(1)
    } % of it`
  ]
  lines.forEach(print)
  return latencyOk && throughputOk && limitOk
}
