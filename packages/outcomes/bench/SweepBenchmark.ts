import { SqlClient } from "@effect/sql"
import { WorkflowEngine } from "@effect/workflow"
import { ConnectionResolver } from "@findry/amplitude-access"
import { AMPLITUDE_PROVIDER } from "@findry/amplitude-adapter"
import { amplitudeTestClient, KeyringTest } from "@findry/amplitude-adapter/testing"
import {
  type EmulatorProcess,
  machineLoad,
  megabytes,
  meterThisProcess,
  processCpuMs,
  startEmulatorProcess
} from "@findry/amplitude-emulator"
import { AnnotationSchedulerLive, PushAnnotation, PushResult } from "@findry/annotations"
import { SecretSealer } from "@findry/crypto"
import type { MappingParams } from "@findry/domain"
import { AnnotationRecordsRepo, BetsRepo, IntegrationsRepo, OutcomeRunsRepo } from "@findry/persistence"
import { TestDatabase, TestSqlLive, transactionCount } from "@findry/persistence/testing"
import { Array as Arr, Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { OutcomeMeasurement, type SweepOptions, type SweepReport } from "../src/OutcomeMeasurement.js"
import { addDays } from "../src/Verdicts.js"

export interface SweepBenchmarkOptions {
  readonly bets: number
  readonly workspaces: number
  /** Amplitude projects the workspaces are connected to (round robin); bets of one project share its limits. */
  readonly projects: number
  readonly latencyMs: number
  readonly sweep?: SweepOptions
}

const DEFAULTS: SweepBenchmarkOptions = {
  bets: 500,
  workspaces: 50,
  projects: 10,
  latencyMs: 50
}
const CONCURRENT_PER_PROJECT = 5
/** The sweep's calls are background calls: one of the 5 slots stays free for interactive ones. */
const BACKGROUND_PER_PROJECT = 4

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** A realistic mix: every event aggregation, a funnel and a template; a third of the bets scoped to a cohort. */
const MAPPINGS: ReadonlyArray<MappingParams> = [
  { kind: "event", event: "Purchase", aggregation: "count" },
  { kind: "event", event: "View Item", aggregation: "uniques", filters: [{ property: "category", value: "books" }] },
  { kind: "event", event: "Purchase", aggregation: "sum", property: "revenue" },
  { kind: "event", event: "Purchase", aggregation: "average", property: "price" },
  { kind: "event", event: "Purchase", aggregation: "average_per_user", property: "revenue" },
  { kind: "funnel", events: ["View Item", "Add to Cart", "Purchase"], conversionWindowDays: 3 },
  { kind: "template", template: "active_users" }
]

const seed = (emulator: EmulatorProcess, options: SweepBenchmarkOptions) =>
  Effect.gen(function*() {
    const sealer = yield* SecretSealer
    const sql = yield* SqlClient.SqlClient
    const projects = yield* Effect.forEach(Arr.range(1, options.projects), (n) => {
      const hex = (n + 7_000_000).toString(16).padStart(32, "0")
      return emulator.createProject({
        id: `sweep-${n}`,
        apiKey: hex,
        secretKey: `S${hex.slice(1)}`,
        data: { seed: "bench-sweep", users: 30, days: 90, experiments: 1 }
      })
    })
    const cohortId = projects[0]!.data.cohorts[0]!.id
    const workspaces = Arr.range(1, options.workspaces).map((n) => ({
      id: randomUUID(),
      projectId: randomUUID(),
      amplitude: projects[(n - 1) % projects.length]!
    }))
    const integrations = yield* Effect.forEach(workspaces, (workspace) =>
      Effect.gen(function*() {
        const seal = (value: string, slot: number) =>
          sealer.seal(Redacted.make(value), { workspaceId: workspace.id, provider: AMPLITUDE_PROVIDER, slot })
        const apiKey = yield* seal(workspace.amplitude.apiKey, 1)
        const secretKey = yield* seal(workspace.amplitude.secretKey, 2)
        return {
          id: randomUUID(),
          workspaceId: workspace.id,
          provider: AMPLITUDE_PROVIDER,
          status: "connected",
          region: "us",
          credential_1: apiKey.sealed,
          credential_2: secretKey.sealed,
          credential_1_prefix: apiKey.prefix,
          credential_2_prefix: secretKey.prefix,
          projectFingerprint: `fingerprint-${workspace.amplitude.id}`,
          settings: JSON.stringify({ annotationsEnabled: true, capabilities: { taxonomy: true, experiments: false } }),
          connectedAt: new Date()
        }
      }))
    const metrics: Array<Record<string, unknown>> = []
    const mappings: Array<Record<string, unknown>> = []
    const bets: Array<Record<string, unknown>> = []
    const outcomes: Array<Record<string, unknown>> = []
    for (const n of Arr.range(0, options.bets - 1)) {
      const workspace = workspaces[n % workspaces.length]!
      const metricId = randomUUID()
      const betId = randomUUID()
      const { kind, ...params } = MAPPINGS[n % MAPPINGS.length]!
      metrics.push({ id: metricId, workspaceId: workspace.id, name: `Metric ${n}`, unit: "decimal" })
      mappings.push({
        id: randomUUID(),
        workspaceId: workspace.id,
        metricId,
        provider: AMPLITUDE_PROVIDER,
        kind,
        params: JSON.stringify(params)
      })
      bets.push({
        id: betId,
        workspaceId: workspace.id,
        projectId: workspace.projectId,
        title: `Bet ${n}`,
        status: "shipped",
        metricId,
        direction: n % 2 === 0 ? "increase" : "decrease",
        magnitude: 5,
        magnitudeUnit: n % 3 === 0 ? "absolute" : "percent",
        timeframeDays: 7 + (n % 8),
        cohortId: n % 3 === 1 ? cohortId : null,
        promotedAt: new Date(),
        createdBy: "bench"
      })
      outcomes.push({
        betId,
        workspaceId: workspace.id,
        shipDate: addDays("2026-10-01", n % 30),
        whatShipped: "A change"
      })
    }
    yield* sql`INSERT INTO workspaces ${sql.insert(workspaces.map((w, n) => ({ id: w.id, name: `Sweep ${n}` })))}`
    yield* sql`INSERT INTO projects ${
      sql.insert(workspaces.map((w) => ({ id: w.projectId, workspaceId: w.id, name: "Main" })))
    }`
    yield* sql`INSERT INTO integrations ${sql.insert(integrations)}`
    for (const rows of Arr.chunksOf(metrics, 1_000)) yield* sql`INSERT INTO metrics ${sql.insert(rows)}`
    for (const rows of Arr.chunksOf(mappings, 1_000)) yield* sql`INSERT INTO metric_mappings ${sql.insert(rows)}`
    for (const rows of Arr.chunksOf(bets, 1_000)) yield* sql`INSERT INTO bets ${sql.insert(rows)}`
    for (const rows of Arr.chunksOf(outcomes, 1_000)) yield* sql`INSERT INTO outcomes ${sql.insert(rows)}`
    return projects
  }).pipe(Effect.orDie)

/** Verdict annotations are recorded and enqueued on the in-memory engine; the push itself is not measured here. */
const AnnotationsLive = AnnotationSchedulerLive.pipe(
  Layer.provide(
    PushAnnotation.toLayer(() =>
      Effect.succeed(new PushResult({ status: "skipped", amplitudeAnnotationId: null, reason: "benchmark" }))
    ).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))
  ),
  Layer.provide([BetsRepo.Default, AnnotationRecordsRepo.Default, IntegrationsRepo.Default])
)

/**
 * The outcome sweep over `bets` bets (every one due, windows closed) in `workspaces` workspaces connected to
 * `projects` emulated Amplitude projects answering after `latencyMs`; the emulator runs in a process of its own.
 * Prints, for this (the product's) process, the sweep's wall time next to the lower bound that Amplitude's 5
 * concurrent requests per project imply for the requests it actually sent, the CPU time per bet and the peak heap.
 */
export const runSweepBenchmark = (log: (line: string) => void, overrides: Partial<SweepBenchmarkOptions> = {}) => {
  const options = { ...DEFAULTS, ...overrides }
  const program = (emulator: EmulatorProcess) =>
    Effect.gen(function*() {
      const database = yield* TestDatabase
      const seedStart = Date.now()
      const projects = yield* seed(emulator, options)
      log(
        `seeded ${options.bets} bets in ${options.workspaces} workspaces on ${options.projects} Amplitude projects in ${
          seconds(Date.now() - seedStart)
        } (${database.kind === "postgres" ? "PostgreSQL" : "PGlite"}); Amplitude latency ${options.latencyMs} ms`
      )
      yield* emulator.injectFault({ host: "us", kind: "latency", ms: options.latencyMs })
      yield* emulator.resetInspection

      const measurement = yield* OutcomeMeasurement
      const emulatorCpuBefore = processCpuMs(emulator.pid)
      const transactionsBefore = yield* transactionCount
      const meter = meterThisProcess({ liveHeapEveryMs: 1000 })
      const report: SweepReport = yield* measurement.sweep(options.sweep)
      const usage = meter.stop()
      const emulatorCpu = processCpuMs(emulator.pid) - emulatorCpuBefore
      // PostgreSQL publishes a session's counts when it goes idle, within a second.
      yield* Effect.sleep("1500 millis")
      const statements = (yield* transactionCount) - transactionsBefore

      const perProject = yield* Effect.forEach(projects, (project) =>
        Effect.gen(function*() {
          const requests = yield* emulator.requests({ project: project.id })
          const projectUsage = yield* emulator.usage(project.id)
          return {
            requests: requests.length,
            rateLimited: requests.filter((r) => r.status === 429).length,
            maxInFlight: projectUsage.maxInFlight,
            cost: projectUsage.costUsed
          }
        }))
      const requests = perProject.reduce((sum, p) => sum + p.requests, 0)
      const boundWith = (slots: number) =>
        Math.max(...perProject.map((p) => Math.ceil(p.requests / slots))) * options.latencyMs
      const bound = boundWith(CONCURRENT_PER_PROJECT)
      const backgroundBound = boundWith(BACKGROUND_PER_PROJECT)
      log(`sweep: ${JSON.stringify(report)}`)
      log(
        `Amplitude: ${requests} requests (${Math.max(...perProject.map((p) => p.requests))} at most per project), ` +
          `peak ${
            Math.max(...perProject.map((p) => p.maxInFlight))
          } in flight per project (limit ${CONCURRENT_PER_PROJECT}), ` +
          `${perProject.reduce((sum, p) => sum + p.rateLimited, 0)} answered 429, cost ${
            Math.max(...perProject.map((p) => p.cost))
          } at most per project (budget 108000/h)`
      )
      log(
        `wall ${seconds(usage.wallMs)}  lower bound ${seconds(bound)} ` +
          `(ceil(requests per project / ${CONCURRENT_PER_PROJECT}) × ${options.latencyMs} ms, busiest project)  ` +
          `ratio ${(usage.wallMs / bound).toFixed(2)}; with the ${BACKGROUND_PER_PROJECT} slots background calls ` +
          `may use: ${seconds(backgroundBound)}, ratio ${(usage.wallMs / backgroundBound).toFixed(2)}`
      )
      log(
        `product process: CPU ${seconds(usage.cpuMs)} (${(usage.cpuMs / options.bets).toFixed(2)} ms per bet), ` +
          `event loop busy ${(usage.loopBusy * 100).toFixed(0)} % of the wall time, ` +
          `peak live heap ${megabytes(usage.peakLiveHeap)} (after a full GC, sampled every second), ` +
          `peak heap ${megabytes(usage.peakHeap)} (${megabytes(usage.startHeap)} at the start), ` +
          `peak RSS ${megabytes(usage.peakRss)}; emulator process CPU ${seconds(emulatorCpu)}; ${machineLoad()}`
      )
      log(`PostgreSQL: ${statements} transactions (${(statements / options.bets).toFixed(1)} per bet)`)
      return {
        report,
        elapsed: usage.wallMs,
        bound,
        usage,
        ok: report.measured === options.bets && report.failed === 0
      }
    })
  return Effect.gen(function*() {
    const emulator = yield* startEmulatorProcess()
    return yield* program(emulator).pipe(
      Effect.provide(
        OutcomeMeasurement.DefaultWithoutDependencies.pipe(
          Layer.provide(AnnotationsLive),
          Layer.provide([OutcomeRunsRepo.Default, IntegrationsRepo.Default, ConnectionResolver.Default]),
          Layer.provideMerge(
            Layer.mergeAll(
              amplitudeTestClient(emulator.urls, { timeout: "10 seconds" }),
              SecretSealer.DefaultWithoutDependencies
            ).pipe(Layer.provide(KeyringTest))
          ),
          Layer.provideMerge(TestSqlLive({ maxConnections: 10 })),
          Layer.provideMerge(Logger.minimumLogLevel(LogLevel.Warning))
        )
      )
    )
  }).pipe(Effect.scoped, Effect.runPromise)
}
