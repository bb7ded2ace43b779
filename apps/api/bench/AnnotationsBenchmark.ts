/**
 * `pnpm bench:annotations`: pushes `BENCH_ANNOTATIONS_DECISIONS` (1,000) decisions over
 * `BENCH_ANNOTATIONS_PROJECTS` (4) Amplitude projects through 1 worker process and then 2
 * (cluster runners over `FINDRY_RUNNER_TRANSPORT`, `socket` unless set; the benchmark's own client-only node uses
 * the same), each run on a fresh database on the PostgreSQL at `BENCH_DATABASE_URL` (else
 * `TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`), against the emulator in a process of
 * its own that answers every annotation call after `BENCH_LATENCY_MS` (25) ms. Prints the total time, pushes per
 * second against the ceiling Amplitude's 5 concurrent requests per project allow, the p50/p99 latency from the
 * committed decision to its annotation being recorded as pushed, the highest number of concurrent requests the
 * emulator saw for one Amplitude project (Amplitude allows 5), and the runner processes' CPU time per push, peak
 * heap and peak RSS. With `BENCH_TELEMETRY=1` each round runs twice,
 * the second time with the runners exporting traces and metrics over OTLP/HTTP to a receiver in this process, and
 * the throughput cost of the export is printed.
 */
import { SqlClient } from "@effect/sql"
import { TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import {
  type EmulatorProcess,
  machineLoad,
  megabytes,
  processCpuMs,
  processPeakRss,
  startEmulatorProcess
} from "@findry/amplitude-emulator"
import type { AnnotationKind } from "@findry/domain"
import { OtlpReceiver } from "@findry/observability/testing"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { Clock, Config, ConfigProvider, Effect, Layer, Logger, LogLevel, Redacted, Schedule } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ClientSchedulerLive, decide, KINDS, SealerLive, seed } from "../test/support/Fixtures.js"
import { awaitRunners, type RunnerProcess, startRunner } from "../test/support/Runners.js"

const MAX_CONCURRENCY = 5
const heapProbe = new URL("./heap-probe.mjs", import.meta.url).href

export interface AnnotationsBenchmarkOptions {
  readonly decisions: number
  /** Amplitude projects, one workspace each. */
  readonly projects: number
  readonly latencyMs: number
}

const DEFAULTS: AnnotationsBenchmarkOptions = { decisions: 1000, projects: 4, latencyMs: 25 }

/** CPU time, peak heap and peak RSS of the runner processes, summed over them. */
export interface RunnerUsage {
  readonly cpuMs: number
  readonly peakHeap: number
  /** The highest heap in use just after one of V8's own full collections: what the runners really kept. */
  readonly peakAfterFullGc: number
  readonly peakRss: number
}

export interface RoundResult {
  readonly runners: number
  readonly totalMs: number
  /** From the first decision to the last one committed (enqueued): the producer's share of `totalMs`. */
  readonly enqueueMs: number
  readonly amplitudeCalls: number
  readonly usage: RunnerUsage
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxProjectConcurrency: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0

const round = (
  options: AnnotationsBenchmarkOptions,
  runners: 1 | 2,
  adminUrl: string,
  telemetry: Record<string, string> = {}
) =>
  Effect.gen(function*() {
    const database = yield* makeTestDatabase.pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TEST_DATABASE_URL", adminUrl]])))
    )
    const emulator: EmulatorProcess = yield* startEmulatorProcess()
    const projects = yield* Effect.forEach(Array.from({ length: options.projects }, (_, i) => i), (i) =>
      emulator.createProject({ id: `bench-${i}`, data: { users: 5, days: 7, experiments: 1 } }))
    yield* emulator.injectFault({ endpoint: "annotations.*", kind: "latency", ms: options.latencyMs })
    const context = yield* Layer.build(
      Layer.mergeAll(ClientSchedulerLive, SealerLive).pipe(
        Layer.provideMerge(MigrationsLive.pipe(Layer.provideMerge(PgLive(database.url, { maxConnections: 8 }))))
      )
    )
    return yield* Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const bets = yield* seed(projects, Math.ceil(options.decisions / options.projects))
      const env = {
        DATABASE_URL: Redacted.value(database.url),
        DATABASE_POOL_SIZE: "8",
        FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
        AMPLITUDE_US_URL: emulator.urls.us,
        AMPLITUDE_EU_URL: emulator.urls.eu,
        ...telemetry
      }
      const heapFiles = yield* Effect.acquireRelease(
        Effect.sync(() =>
          mkdtempSync(join(tmpdir(), "bench-annotations-"))
        ),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const started: Array<RunnerProcess> = []
      for (let i = 1; i <= runners; i++) {
        started.push(
          yield* startRunner(`runner-${i}`, {
            ...env,
            NODE_OPTIONS: `${process.env["NODE_OPTIONS"] ?? ""} --import=${heapProbe}`,
            BENCH_HEAP_FILE: join(heapFiles, `runner-${i}.json`)
          })
        )
      }
      yield* awaitRunners(runners)
      const pids = started.map((runner) => runner.child.pid!)
      const cpuBefore = pids.map(processCpuMs)

      const decisions = bets.slice(0, options.decisions).map((bet, i) => ({
        bet,
        kind: KINDS[i % KINDS.length] as AnnotationKind
      }))
      const committedAt = new Map<string, number>()
      const start = yield* Clock.currentTimeMillis
      yield* Effect.forEach(decisions, ({ bet, kind }) =>
        decide(bet, [kind]).pipe(
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.map((at) => committedAt.set(`${bet.betId}:${kind}`, at))
        ), { concurrency: 8, discard: true })
      const enqueued = yield* Clock.currentTimeMillis

      const pushed = sql<{ betId: string; kind: string; lastPushedAt: Date }>`
        SELECT bet_id, kind, last_pushed_at FROM annotation_records WHERE status = 'pushed'`
      const rows = yield* pushed.pipe(
        Effect.filterOrFail(
          (rows) => rows.length >= options.decisions,
          (rows) => `${rows.length} of ${options.decisions} pushed`
        ),
        Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 3000 }),
        Effect.orDie
      )
      const latencies = rows.map((row) => row.lastPushedAt.getTime() - committedAt.get(`${row.betId}:${row.kind}`)!)
        .sort((a, b) => a - b)
      const end = Math.max(...rows.map((row) => row.lastPushedAt.getTime()))
      const cpuMs = pids.reduce((sum, pid, i) => sum + processCpuMs(pid) - cpuBefore[i]!, 0)
      const peakRss = pids.reduce((sum, pid) => sum + processPeakRss(pid), 0)
      const concurrency = yield* Effect.forEach(projects, (project) =>
        Effect.map(emulator.usage(project.id), (usage) => usage.maxInFlight))
      const amplitudeCalls = (yield* emulator.requests({ host: "us" })).length
      yield* Effect.forEach(started, (runner) =>
        runner.kill("SIGTERM"), { discard: true })
      const heapFigures = started.map((_, i) => {
        try {
          return JSON.parse(readFileSync(join(heapFiles, `runner-${i + 1}.json`), "utf8")) as {
            peakHeap: number
            peakAfterFullGc: number
          }
        } catch {
          return { peakHeap: 0, peakAfterFullGc: 0 }
        }
      })
      const peakHeap = heapFigures.reduce((sum, figures) => sum + figures.peakHeap, 0)
      const peakAfterFullGc = heapFigures.reduce((sum, figures) => sum + figures.peakAfterFullGc, 0)
      return {
        runners,
        totalMs: end - start,
        enqueueMs: enqueued - start,
        amplitudeCalls,
        usage: { cpuMs, peakHeap, peakAfterFullGc, peakRss },
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxProjectConcurrency: Math.max(...concurrency)
      } satisfies RoundResult
    }).pipe(Effect.provide(context))
  }).pipe(Effect.scoped)

const benchmark = (print: (line: string) => void, options: AnnotationsBenchmarkOptions) =>
  Effect.gen(function*() {
    const adminUrl = yield* Config.string("BENCH_DATABASE_URL").pipe(
      Config.orElse(() => Config.string("TEST_DATABASE_URL")),
      Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres")
    )
    print(
      `Annotation push: ${options.decisions} decisions over ${options.projects} Amplitude projects, ${options.latencyMs} ` +
        `ms per call; the emulator runs in a process of its own; runner transport ` +
        `${process.env["FINDRY_RUNNER_TRANSPORT"] ?? "socket"}`
    )
    const telemetry = yield* Config.boolean("BENCH_TELEMETRY").pipe(Config.withDefault(false))
    const receiver = telemetry ? yield* OtlpReceiver.make : undefined
    const show = (label: string, result: RoundResult) => {
      const perSecond = options.decisions / (result.totalMs / 1000)
      // The log holds the latest 10,000 requests; past that, the 3.5 calls per push measured at 1,000 decisions.
      const callsPerPush = result.amplitudeCalls < 10_000 ? result.amplitudeCalls / options.decisions : 3.5
      const ceiling = (options.projects * MAX_CONCURRENCY) / (callsPerPush * options.latencyMs / 1000)
      print(
        `  ${label}  total ${(result.totalMs / 1000).toFixed(1)} s  (${Math.round(perSecond)}/s of a ceiling of ${
          Math.round(ceiling)
        }/s = ${options.projects} projects × ${MAX_CONCURRENCY} in flight ÷ (${
          callsPerPush.toFixed(2)
        } calls per push × ${options.latencyMs} ms): ${Math.round((100 * perSecond) / ceiling)} %)\n` +
          `    decisions committed in ${(result.enqueueMs / 1000).toFixed(1)} s (8 at a time, by this process); ` +
          `decision→annotation p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms  ` +
          `max per-project concurrency ${result.maxProjectConcurrency} (limit ${MAX_CONCURRENCY})\n` +
          `    runner processes: CPU ${(result.usage.cpuMs / 1000).toFixed(2)} s (${
            (result.usage.cpuMs / options.decisions).toFixed(2)
          } ms per push), peak heap ${megabytes(result.usage.peakHeap)} in use (at most ${
            megabytes(result.usage.peakAfterFullGc)
          } left after a full GC), peak RSS ${megabytes(result.usage.peakRss)} (summed over runners); ${machineLoad()}`
      )
    }
    let ok = true
    for (const runners of [1, 2] as const) {
      const label = `${runners} worker${runners === 1 ? " " : "s"}`
      const result = yield* round(options, runners, adminUrl)
      show(label, result)
      if (result.maxProjectConcurrency > MAX_CONCURRENCY) ok = false
      if (receiver !== undefined) {
        const exported = yield* round(options, runners, adminUrl, {
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
export const runAnnotationsBenchmark = (
  print: (line: string) => void,
  overrides: Partial<AnnotationsBenchmarkOptions> = {}
): Promise<boolean> =>
  Effect.runPromise(
    benchmark(print, { ...DEFAULTS, ...overrides }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
  )
