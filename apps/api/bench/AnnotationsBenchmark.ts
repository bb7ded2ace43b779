/**
 * `pnpm bench:annotations`: pushes 1,000 decisions through 1 worker process and then 2 (socket runners), each
 * round on a fresh database on the PostgreSQL at `BENCH_DATABASE_URL` (else
 * `TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`), against a local emulator that
 * answers every annotation call after 25 ms. Prints the total time, the p50/p99 latency from the committed
 * decision to its annotation being recorded as pushed, and the highest number of concurrent requests the
 * emulator saw for one Amplitude project (Amplitude allows 5). With `BENCH_TELEMETRY=1` each round runs twice,
 * the second time with the runners exporting traces and metrics over OTLP/HTTP to a receiver in this process, and
 * the throughput cost of the export is printed.
 */
import { SqlClient } from "@effect/sql"
import { TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import type { AnnotationKind } from "@findry/domain"
import { OtlpReceiver } from "@findry/observability/testing"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { Clock, Config, ConfigProvider, Effect, Layer, Logger, LogLevel, Redacted, Schedule } from "effect"
import { ClientSchedulerLive, decide, KINDS, SealerLive, seed } from "../test/support/Fixtures.js"
import { awaitRunners, type RunnerProcess, startRunner } from "../test/support/Runners.js"

const DECISIONS = 1000
const WORKSPACES = 4
const LATENCY_MS = 25
const MAX_CONCURRENCY = 5

export interface RoundResult {
  readonly runners: number
  readonly totalMs: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxProjectConcurrency: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0

const round = (runners: 1 | 2, adminUrl: string, telemetry: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const database = yield* makeTestDatabase.pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TEST_DATABASE_URL", adminUrl]])))
    )
    const emulator = yield* AmplitudeEmulator.make({
      demoProjects: false,
      projects: Array.from({ length: WORKSPACES }, (_, i) => ({
        id: `bench-${i}`,
        data: { users: 5, days: 7, experiments: 0 }
      }))
    })
    const projects = yield* emulator.projects
    yield* emulator.injectFault({ endpoint: "annotations.*", kind: "latency", ms: LATENCY_MS })
    const context = yield* Layer.build(
      Layer.mergeAll(ClientSchedulerLive, SealerLive).pipe(
        Layer.provideMerge(MigrationsLive.pipe(Layer.provideMerge(PgLive(database.url, { maxConnections: 8 }))))
      )
    )
    return yield* Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const bets = yield* seed(projects, DECISIONS / WORKSPACES)
      const env = {
        DATABASE_URL: Redacted.value(database.url),
        DATABASE_POOL_SIZE: "8",
        FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
        AMPLITUDE_US_URL: emulator.urls.us,
        AMPLITUDE_EU_URL: emulator.urls.eu,
        ...telemetry
      }
      const started: Array<RunnerProcess> = []
      for (let i = 1; i <= runners; i++) started.push(yield* startRunner(`runner-${i}`, env))
      yield* awaitRunners(runners)

      const decisions = bets.map((bet, i) => ({ bet, kind: KINDS[i % KINDS.length] as AnnotationKind }))
      const committedAt = new Map<string, number>()
      const start = yield* Clock.currentTimeMillis
      yield* Effect.forEach(decisions, ({ bet, kind }) =>
        decide(bet, [kind]).pipe(
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.map((at) => committedAt.set(`${bet.betId}:${kind}`, at))
        ), { concurrency: 8, discard: true })

      const pushed = sql<{ betId: string; kind: string; lastPushedAt: Date }>`
        SELECT bet_id, kind, last_pushed_at FROM annotation_records WHERE status = 'pushed'`
      const rows = yield* pushed.pipe(
        Effect.filterOrFail((rows) => rows.length >= DECISIONS, (rows) => `${rows.length} of ${DECISIONS} pushed`),
        Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 3000 }),
        Effect.orDie
      )
      const latencies = rows.map((row) => row.lastPushedAt.getTime() - committedAt.get(`${row.betId}:${row.kind}`)!)
        .sort((a, b) => a - b)
      const end = Math.max(...rows.map((row) => row.lastPushedAt.getTime()))
      const concurrency = yield* Effect.forEach(projects, (project) => emulator.maxConcurrency(project.id))
      yield* Effect.forEach(started, (runner) => runner.kill("SIGTERM"), { discard: true })
      return {
        runners,
        totalMs: end - start,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxProjectConcurrency: Math.max(...concurrency)
      } satisfies RoundResult
    }).pipe(Effect.provide(context))
  }).pipe(Effect.scoped)

const benchmark = (print: (line: string) => void) =>
  Effect.gen(function*() {
    const adminUrl = yield* Config.string("BENCH_DATABASE_URL").pipe(
      Config.orElse(() => Config.string("TEST_DATABASE_URL")),
      Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres")
    )
    print(`Annotation push: ${DECISIONS} decisions over ${WORKSPACES} Amplitude projects, ${LATENCY_MS} ms per call`)
    const telemetry = yield* Config.boolean("BENCH_TELEMETRY").pipe(Config.withDefault(false))
    const receiver = telemetry ? yield* OtlpReceiver.make : undefined
    const show = (label: string, result: RoundResult) =>
      print(
        `  ${label}  total ${(result.totalMs / 1000).toFixed(1)} s  (${
          Math.round(DECISIONS / (result.totalMs / 1000))
        }/s)  decision→annotation p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms  ` +
          `max per-project concurrency ${result.maxProjectConcurrency} (limit ${MAX_CONCURRENCY})`
      )
    let ok = true
    for (const runners of [1, 2] as const) {
      const label = `${runners} worker${runners === 1 ? " " : "s"}`
      const result = yield* round(runners, adminUrl)
      show(label, result)
      if (result.maxProjectConcurrency > MAX_CONCURRENCY) ok = false
      if (receiver !== undefined) {
        const exported = yield* round(runners, adminUrl, {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_METRIC_EXPORT_INTERVAL: "10000"
        })
        show(`${label} + OTLP`, exported)
        print(
          `    telemetry cost (throughput): ${((1 - result.totalMs / exported.totalMs) * 100).toFixed(1)} %  ` +
            `(target ≤ 10 %); exports received so far: ${receiver.requests.length}`
        )
        if (exported.maxProjectConcurrency > MAX_CONCURRENCY) ok = false
      }
    }
    return ok
  }).pipe(Effect.scoped)

/** Runs both rounds and reports through `print`; false when a project saw more than 5 concurrent requests. */
export const runAnnotationsBenchmark = (print: (line: string) => void): Promise<boolean> =>
  Effect.runPromise(benchmark(print).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)))
