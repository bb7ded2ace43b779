import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { Agent, get } from "node:http"
import { AmplitudeClient } from "../src/AmplitudeClient.js"
import { amplitudeTestClient, KeyringTest } from "../src/Testing.js"

const CALLS_PER_ROUND = 10
const WARM_UP_ROUNDS = 20
const MEASURED_ROUNDS = 80
const TARGET_MEDIAN_MS = 1

interface Stats {
  readonly median: number
  readonly p99: number
}

export interface AdapterBenchmarkResult {
  /** Measured calls per client. */
  readonly calls: number
  /** node:http, the baseline the overhead is measured against. */
  readonly raw: Stats
  readonly fetch: Stats
  readonly adapter: Stats
  /** Wall-clock time per call, adapter minus node:http, at the median and at p99. */
  readonly overhead: Stats
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

const stats = (samples: ReadonlyArray<number>): Stats => {
  const sorted = [...samples].sort((a, b) => a - b)
  return { median: percentile(sorted, 50), p99: percentile(sorted, 99) }
}

const ms = (value: number) => `${value.toFixed(3)} ms`.padStart(10)

const program = Effect.gen(function*() {
  const emulator = yield* AmplitudeEmulator
  const project = yield* emulator.createProject({ id: "bench", data: { users: 30, days: 14, experiments: 3 } })
  const sealer = yield* SecretSealer
  const client = yield* AmplitudeClient
  const workspaceId = randomUUID()
  const seal = (value: string, slot: number) =>
    Effect.map(sealer.seal(Redacted.make(value), { workspaceId, provider: "amplitude", slot }), (s) => s.sealed)
  const amplitude = client.connection({
    workspaceId,
    region: "us",
    apiKey: yield* seal(project.apiKey, 1),
    secretKey: yield* seal(project.secretKey, 2),
    managementKey: null
  })

  // The same request without the adapter, same keys, body parsed as JSON: node:http with a keep-alive agent
  // (the fastest plain client here) and node's fetch (undici).
  const url = new URL(`${emulator.urls.us}/api/2/events/list`)
  const headers = {
    accept: "application/json",
    authorization: `Basic ${Buffer.from(`${project.apiKey}:${project.secretKey}`).toString("base64")}`
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
  const parse = (status: number | undefined, text: string) => {
    if (status !== 200) throw new Error(`raw request answered ${status}`)
    return (JSON.parse(text) as { data: ReadonlyArray<unknown> }).data.length
  }
  const nodeHttp = Effect.async<number>((resume) => {
    const request = get(url, { agent, headers }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on(
        "end",
        () => resume(Effect.sync(() => parse(response.statusCode, Buffer.concat(chunks).toString("utf8"))))
      )
    })
    request.on("error", (error) => resume(Effect.die(error)))
  })
  const nodeFetch = Effect.promise(async () => {
    const response = await fetch(url, { headers })
    return parse(response.status, await response.text())
  })
  const viaAdapter = Effect.map(amplitude.listEvents(), (events) => events.length)

  const timed = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const start = performance.now()
      yield* effect
      return performance.now() - start
    })

  const wall = { http: [] as Array<number>, fetch: [] as Array<number>, adapter: [] as Array<number> }
  const calls = { http: nodeHttp, fetch: nodeFetch, adapter: viaAdapter }
  const orders: ReadonlyArray<ReadonlyArray<keyof typeof calls>> = [
    ["adapter", "http", "fetch"],
    ["http", "fetch", "adapter"],
    ["fetch", "adapter", "http"]
  ]
  for (let round = 0; round < WARM_UP_ROUNDS + MEASURED_ROUNDS; round++) {
    // Rotate the order so none of the three always meets a warmer connection or cache.
    for (const name of orders[round % orders.length]!) {
      for (let i = 0; i < CALLS_PER_ROUND; i++) {
        const elapsed = yield* timed(calls[name])
        if (round >= WARM_UP_ROUNDS) wall[name].push(elapsed)
      }
    }
  }
  const raw = stats(wall.http)
  const adapter = stats(wall.adapter)
  const result: AdapterBenchmarkResult = {
    calls: MEASURED_ROUNDS * CALLS_PER_ROUND,
    raw,
    fetch: stats(wall.fetch),
    adapter,
    overhead: { median: adapter.median - raw.median, p99: adapter.p99 - raw.p99 }
  }
  return result
})

const BenchLive = amplitudeTestClient(AmplitudeEmulator, { timeout: "10 seconds" }).pipe(
  Layer.provideMerge(SecretSealer.DefaultWithoutDependencies),
  Layer.provide(KeyringTest),
  Layer.provideMerge(AmplitudeEmulator.layer({ demoProjects: false }))
)

/** Runs the benchmark, prints the figures and returns them; `ok` is false when the median overhead misses 1 ms. */
export const runAdapterBenchmark = async (): Promise<AdapterBenchmarkResult & { readonly ok: boolean }> => {
  const result = await Effect.runPromise(Effect.provide(Effect.scoped(program), BenchLive).pipe(Effect.orDie))
  const ok = result.overhead.median < TARGET_MEDIAN_MS
  const lines = [
    `Amplitude adapter overhead per call: GET /api/2/events/list on the emulator (same process), ` +
    `${result.calls} calls per client after ${WARM_UP_ROUNDS * CALLS_PER_ROUND} warm-up calls, interleaved`,
    `  raw node:http   median ${ms(result.raw.median)}   p99 ${ms(result.raw.p99)}`,
    `  raw fetch       median ${ms(result.fetch.median)}   p99 ${ms(result.fetch.p99)}`,
    `  adapter         median ${ms(result.adapter.median)}   p99 ${ms(result.adapter.p99)}`,
    `  overhead        median ${ms(result.overhead.median)}   p99 ${ms(result.overhead.p99)}   (over node:http)`,
    `  target: median overhead < ${TARGET_MEDIAN_MS} ms: ${ok ? "met" : "MISSED"}`
  ]
  process.stdout.write(`${lines.join("\n")}\n`)
  return { ...result, ok }
}
