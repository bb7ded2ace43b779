import { ClusterWorkflowEngine, SingleRunner } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { WorkflowEngine } from "@effect/workflow"
import { AMPLITUDE_PROVIDER } from "@findry/amplitude-adapter"
import { amplitudeTestClient, KeyringTest } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { TestDatabase, TestSqlLive } from "@findry/persistence/testing"
import { Array as Arr, Duration, Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { randomUUID } from "node:crypto"
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
}

const DEFAULTS: SyncBenchmarkOptions = { workspaces: 2_000, experiments: 20, latencyMs: 50 }
const DATE = "2026-12-24"

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** Inserts every workspace of the benchmark in bulk: connection (sealed keys), project, linked tests. */
const seed = (options: SyncBenchmarkOptions) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
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

/** Real PostgreSQL: the cluster engine on SQL storage, as in production. PGlite (one connection): in memory. */
const engineLive = (engine: "cluster" | "memory" | undefined) =>
  Layer.unwrapEffect(Effect.map(TestDatabase, (database) =>
    database.kind === "postgres" && engine !== "memory"
      ? ClusterWorkflowEngine.layer.pipe(
        Layer.provideMerge(SingleRunner.layer({
          runnerStorage: "sql",
          shardingConfig: {
            shardsPerGroup: 100,
            entityMessagePollInterval: Duration.millis(200),
            entityReplyPollInterval: Duration.millis(100)
          }
        })),
        Layer.orDie
      )
      : WorkflowEngine.layerMemory))

/**
 * `NightlySync` over `workspaces` workspaces with `experiments` linked tests each, against the emulator with
 * `latencyMs` added to every Experiment API answer. Database: `TEST_DATABASE_URL` (a throw-away database) or
 * PGlite. Prints total time, peak memory and the lower bound the chosen concurrency allows.
 */
export const runSyncBenchmark = (log: (line: string) => void, overrides: Partial<SyncBenchmarkOptions> = {}) => {
  const options = { ...DEFAULTS, ...overrides }
  const settings = { ...ExperimentSyncSettings.defaults, ...options.settings }
  const program = Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const database = yield* TestDatabase
    const sql = yield* SqlClient.SqlClient
    const seedStart = Date.now()
    yield* seed(options)
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

    let peakRss = 0
    let peakHeap = 0
    const sample = () => {
      const usage = process.memoryUsage()
      peakRss = Math.max(peakRss, usage.rss)
      peakHeap = Math.max(peakHeap, usage.heapUsed)
    }
    sample()
    const baseRss = peakRss
    const timer = setInterval(sample, 50)
    const started = Date.now()
    const summary = yield* NightlySync.execute({ date: DATE }).pipe(
      Effect.ensuring(Effect.sync(() => clearInterval(timer)))
    )
    const elapsed = Date.now() - started
    sample()

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
    log(`total time          ${seconds(elapsed)}`)
    log(
      `lower bound         ${seconds(bound)} = ${waves} waves of ${settings.waveSize} workspaces × ${perWorkspace} ` +
        `sequential request(s) per workspace × ${options.latencyMs} ms`
    )
    log(`peak RSS            ${mb(peakRss)} (${mb(baseRss)} before the run; the emulator runs in this process)`)
    log(`peak heap used      ${mb(peakHeap)}`)
    return { elapsed, bound, peakRss, synced: totals[0]!.synced }
  })

  return program.pipe(
    Effect.provide(
      ExperimentSyncWorkflowsLive.pipe(
        Layer.provideMerge(engineLive(options.engine)),
        Layer.provideMerge(ExperimentSyncSettings.layer(settings)),
        Layer.provideMerge(amplitudeTestClient(AmplitudeEmulator, { timeout: "10 seconds" })),
        Layer.provideMerge(SecretSealer.DefaultWithoutDependencies),
        Layer.provideMerge(KeyringTest),
        Layer.provideMerge(TestSqlLive({ maxConnections: options.poolSize ?? 10 })),
        Layer.provideMerge(AmplitudeEmulator.layer({ demoProjects: false })),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
      )
    ),
    Effect.runPromise
  )
}
