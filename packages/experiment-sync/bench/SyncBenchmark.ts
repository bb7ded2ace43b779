import { SqlClient } from "@effect/sql"
import { WorkflowEngine } from "@effect/workflow"
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
import { singleRunner } from "@findry/annotations"
import { SecretSealer } from "@findry/crypto"
import { TestDatabase, TestSqlLive, transactionCount } from "@findry/persistence/testing"
import { Array as Arr, Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { writeHeapSnapshot } from "node:v8"
import { experimentFields } from "../src/ExperimentFields.js"
import { type ExperimentSyncOptions, ExperimentSyncSettings } from "../src/ExperimentSync.js"
import { ExperimentSyncWorkflowsLive, NightlySync } from "../src/Workflows.js"

export interface SyncBenchmarkOptions {
  readonly workspaces: number
  readonly experiments: number
  readonly latencyMs: number
  readonly settings?: Partial<ExperimentSyncOptions>
  /** `cluster` (default on PostgreSQL): SingleRunner on SQL storage; `memory`: the in-memory workflow engine. */
  readonly engine?: "cluster" | "memory"
  readonly poolSize?: number
  /** Where to write a heap snapshot taken right after the night ends (to see what the sync still holds). */
  readonly heapSnapshotDir?: string
}

const DEFAULTS: SyncBenchmarkOptions = { workspaces: 2_000, experiments: 20, latencyMs: 50 }
const DATE = "2026-12-24"

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** Inserts every workspace of the benchmark in bulk: connection (sealed keys), project, linked tests. */
const seed = (emulator: EmulatorProcess, options: SyncBenchmarkOptions) =>
  Effect.gen(function*() {
    const sealer = yield* SecretSealer
    const sql = yield* SqlClient.SqlClient
    const data = { seed: "bench-sync", users: 3, days: 2, experiments: options.experiments }
    for (const chunk of Arr.chunksOf(Arr.range(1, options.workspaces), 250)) {
      const workspaces: Array<Record<string, unknown>> = []
      const projects: Array<Record<string, unknown>> = []
      const integrations: Array<Record<string, unknown>> = []
      const tests: Array<Record<string, unknown>> = []
      const snapshots: Array<Record<string, unknown>> = []
      for (const n of chunk) {
        const hex = (n + 5_000_000).toString(16).padStart(32, "0")
        const project = yield* emulator.createProject({
          id: `bench-${n}`,
          apiKey: hex,
          secretKey: `S${hex.slice(1)}`,
          managementKeys: [`ampex_bench${String(n).padStart(8, "0")}`],
          data
        })
        const workspaceId = randomUUID()
        const projectId = randomUUID()
        const seal = (value: string, slot: number) =>
          sealer.seal(Redacted.make(value), { workspaceId, provider: AMPLITUDE_PROVIDER, slot })
        const [apiKey, secretKey, managementKey] = yield* Effect.all([
          seal(project.apiKey, 1),
          seal(project.secretKey, 2),
          seal(project.managementKeys[0]!.key, 3)
        ])
        workspaces.push({ id: workspaceId, name: `Bench ${n}` })
        projects.push({ id: projectId, workspaceId, name: "Main" })
        integrations.push({
          id: randomUUID(),
          workspaceId,
          provider: AMPLITUDE_PROVIDER,
          status: "connected",
          region: "us",
          credential_1: apiKey.sealed,
          credential_2: secretKey.sealed,
          credential_3: managementKey.sealed,
          credential_1_prefix: apiKey.prefix,
          credential_2_prefix: secretKey.prefix,
          credential_3_prefix: managementKey.prefix,
          settings: JSON.stringify({ annotationsEnabled: true, capabilities: { taxonomy: true, experiments: true } }),
          connectedAt: new Date()
        })
        for (const experiment of project.data.experiments) {
          const testId = randomUUID()
          tests.push({
            id: testId,
            workspaceId,
            projectId,
            name: experiment.name,
            type: "ab_experiment",
            amplitudeExperimentId: experiment.id,
            createdBy: "bench"
          })
          const fields = experimentFields({
            ...experiment,
            description: experiment.description,
            variants: experiment.variants.map((variant) => ({ key: variant.key, name: variant.name ?? null }))
          })
          snapshots.push({
            testId,
            workspaceId,
            experimentId: fields.experimentId,
            key: fields.key,
            name: fields.name,
            state: "stale",
            variants: JSON.stringify(fields.variants),
            syncedAt: new Date(0),
            syncStatus: "synced",
            lastAttemptAt: new Date(0)
          })
        }
      }
      yield* sql`INSERT INTO workspaces ${sql.insert(workspaces)}`
      yield* sql`INSERT INTO projects ${sql.insert(projects)}`
      yield* sql`INSERT INTO integrations ${sql.insert(integrations)}`
      for (const rows of Arr.chunksOf(tests, 2_000)) yield* sql`INSERT INTO tests ${sql.insert(rows)}`
      for (const rows of Arr.chunksOf(snapshots, 2_000)) {
        yield* sql`INSERT INTO experiment_snapshots ${sql.insert(rows)}`
      }
    }
  }).pipe(Effect.orDie)

/**
 * Real PostgreSQL: the cluster engine on SQL storage with the product's sharding settings (`clusterSharding`), as
 * in production. PGlite (one connection): in memory.
 */
const engineLive = (engine: "cluster" | "memory" | undefined) =>
  Layer.unwrapEffect(Effect.map(TestDatabase, (database) =>
    database.kind === "postgres" && engine !== "memory"
      ? singleRunner({ runnerStorage: "sql" }).pipe(Layer.orDie)
      : WorkflowEngine.layerMemory))

/**
 * `NightlySync` over `workspaces` workspaces with `experiments` linked tests each, against the emulator (in a
 * process of its own) with `latencyMs` added to every Experiment API answer. Database: `TEST_DATABASE_URL` (a
 * throw-away database) or PGlite. Prints, for this (the product's) process, the wall time next to the lower bound
 * the chosen concurrency allows, the CPU time per workspace and the peak heap.
 */
export const runSyncBenchmark = (log: (line: string) => void, overrides: Partial<SyncBenchmarkOptions> = {}) => {
  const options = { ...DEFAULTS, ...overrides }
  const settings = { ...ExperimentSyncSettings.defaults, ...options.settings }
  const program = (emulator: EmulatorProcess) =>
    Effect.gen(function*() {
      const database = yield* TestDatabase
      const sql = yield* SqlClient.SqlClient
      const seedStart = Date.now()
      yield* seed(emulator, options)
      log(
        `seeded ${options.workspaces} workspaces × ${options.experiments} linked tests in ${
          seconds(Date.now() - seedStart)
        } (${database.kind === "postgres" ? "PostgreSQL" : "PGlite"}, ${
          database.kind === "postgres" && options.engine !== "memory"
            ? "cluster engine (SingleRunner) on SQL storage"
            : "in-memory workflow engine"
        }, waves of ${settings.waveSize})`
      )
      yield* emulator.injectFault({ host: "experimentUs", kind: "latency", ms: options.latencyMs })
      yield* emulator.resetInspection

      const emulatorCpuBefore = processCpuMs(emulator.pid)
      const transactionsBefore = yield* transactionCount
      const meter = meterThisProcess({ liveHeapEveryMs: 1000 })
      const summary = yield* NightlySync.execute({ date: DATE }).pipe(Effect.onExit(() => Effect.sync(meter.stop)))
      const usage = meter.stop()
      if (options.heapSnapshotDir !== undefined) {
        log(
          `heap snapshot at the end of the night: ${
            writeHeapSnapshot(join(options.heapSnapshotDir, "sync-end.heapsnapshot"))
          }`
        )
      }
      const emulatorCpu = processCpuMs(emulator.pid) - emulatorCpuBefore
      // PostgreSQL publishes a session's counts when it goes idle, within a second.
      yield* Effect.sleep("1500 millis")
      const statements = (yield* transactionCount) - transactionsBefore

      const requests = (yield* emulator.requests({ host: "experimentUs" })).length
      const totals = yield* sql<{ synced: number; runs: number }>`
        SELECT coalesce(sum(tests_synced), 0)::int AS synced, count(*)::int AS runs
        FROM experiment_sync_runs WHERE sync_date = ${DATE}::date AND status = 'succeeded'`.pipe(Effect.orDie)
      const perWorkspace = options.experiments <= settings.lookupThreshold
        ? Math.ceil(options.experiments / settings.perWorkspaceConcurrency)
        : Math.ceil(options.experiments / 1000)
      const waves = Math.ceil(options.workspaces / settings.waveSize)
      const bound = waves * perWorkspace * options.latencyMs
      log(`synced ${totals[0]!.synced} tests in ${totals[0]!.runs} workspaces: ${JSON.stringify(summary)}`)
      log(`Experiment API requests: ${requests} (the request log keeps the latest 10,000)`)
      log(
        `wall ${seconds(usage.wallMs)}  lower bound ${seconds(bound)} = ${waves} waves of ${settings.waveSize} ` +
          `workspaces × ${perWorkspace} sequential request(s) per workspace × ${options.latencyMs} ms  ratio ${
            (usage.wallMs / bound).toFixed(2)
          }`
      )
      log(
        `product process: CPU ${seconds(usage.cpuMs)} (${
          (usage.cpuMs / options.workspaces).toFixed(2)
        } ms per workspace), event loop busy ${(usage.loopBusy * 100).toFixed(0)} % of the wall time, peak live heap ${
          megabytes(usage.peakLiveHeap)
        } (after a full GC, sampled every second), ` +
          `peak heap ${megabytes(usage.peakHeap)} (${megabytes(usage.startHeap)} at the start, ${
            megabytes(usage.endHeap)
          } at the end), peak RSS ${megabytes(usage.peakRss)} (${megabytes(usage.startRss)} at the start); ` +
          `emulator process CPU ${seconds(emulatorCpu)}; ${machineLoad()}`
      )
      log(
        `PostgreSQL: ${statements} transactions (${(statements / options.workspaces).toFixed(1)} per workspace)`
      )
      return { elapsed: usage.wallMs, bound, usage, synced: totals[0]!.synced }
    })

  return Effect.gen(function*() {
    const emulator = yield* startEmulatorProcess()
    return yield* program(emulator).pipe(
      Effect.provide(
        ExperimentSyncWorkflowsLive.pipe(
          Layer.provideMerge(engineLive(options.engine)),
          Layer.provideMerge(ExperimentSyncSettings.layer(settings)),
          Layer.provideMerge(amplitudeTestClient(emulator.urls, { timeout: "10 seconds" })),
          Layer.provideMerge(SecretSealer.DefaultWithoutDependencies),
          Layer.provideMerge(KeyringTest),
          Layer.provideMerge(TestSqlLive({ maxConnections: options.poolSize ?? 10 })),
          Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
        )
      )
    )
  }).pipe(Effect.scoped, Effect.runPromise)
}
