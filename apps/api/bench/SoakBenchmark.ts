/**
 * `pnpm bench:soak`: keeps one worker process (`FINDRY_ROLE=worker`) busy for `BENCH_SOAK_SECONDS`
 * (300) with a steady trickle of work, on a fresh database on the PostgreSQL of `bench:annotations`, against the
 * emulator in a process of its own (`BENCH_LATENCY_MS`, 25 ms per call):
 * - `BENCH_SOAK_DECISIONS_PER_SECOND` (5) decisions, each a new revision of an annotation to push;
 * - every `BENCH_SOAK_SYNC_EVERY_SECONDS` (30) s, a night of the experiment sync (a new date each time) over the
 *   `BENCH_SOAK_WORKSPACES` (20) workspaces, each with a management key and linked tests.
 * The outcome sweep is the runner's hourly cron and cannot be started from outside the runner, so a soak shorter
 * than an hour does not exercise it. Prints the runner's heap left after a full collection and its RSS after the
 * warm-up (the first fifth of the run) and at the end, and their change.
 */
import { SqlClient } from "@effect/sql"
import { AMPLITUDE_PROVIDER } from "@findry/amplitude-adapter"
import { TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import { machineLoad, megabytes, processCpuMs, startEmulatorProcess } from "@findry/amplitude-emulator"
import { AnnotationSchedulerLive } from "@findry/annotations"
import { SecretSealer } from "@findry/crypto"
import type { AnnotationKind } from "@findry/domain"
import { NightlySync } from "@findry/experiment-sync"
import { MigrationsLive, PgLive } from "@findry/persistence"
import { makeTestDatabase } from "@findry/persistence/testing"
import { ClusterClientLive } from "@findry/runtime"
import { Config, ConfigProvider, Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { decide, KINDS, SealerLive, seed } from "../test/support/Fixtures.js"
import { awaitRunners, startRunner } from "../test/support/Runners.js"

export interface SoakBenchmarkOptions {
  readonly seconds: number
  readonly decisionsPerSecond: number
  readonly syncEverySeconds: number
  readonly workspaces: number
  readonly latencyMs: number
}

const DEFAULTS: SoakBenchmarkOptions = {
  seconds: 300,
  decisionsPerSecond: 5,
  syncEverySeconds: 30,
  workspaces: 20,
  latencyMs: 25
}

interface RunnerHeap {
  readonly liveHeap: number
  readonly rss: number
}

/** Gives every seeded workspace a management key and links its tests to the project's experiments. */
const linkExperiments = (
  projects: ReadonlyArray<{ readonly managementKeys: ReadonlyArray<{ readonly key: string }> }>,
  experimentIds: ReadonlyArray<ReadonlyArray<string>>
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sealer = yield* SecretSealer
    const workspaces = yield* sql<{ workspaceId: string; projectId: string }>`
      SELECT w.id AS workspace_id, p.id AS project_id FROM workspaces w JOIN projects p ON p.workspace_id = w.id
      ORDER BY w.name`
    for (const [index, workspace] of workspaces.entries()) {
      const key = yield* sealer.seal(Redacted.make(projects[index]!.managementKeys[0]!.key), {
        workspaceId: workspace.workspaceId,
        provider: AMPLITUDE_PROVIDER,
        slot: 3
      })
      yield* sql`
        UPDATE integrations SET credential_3 = ${key.sealed}, credential_3_prefix = ${key.prefix},
          settings = '{"annotationsEnabled": true, "capabilities": {"taxonomy": true, "experiments": true}}'::jsonb
        WHERE workspace_id = ${workspace.workspaceId}`
      for (const experimentId of experimentIds[index]!) {
        yield* sql`
          INSERT INTO tests (id, workspace_id, project_id, name, type, amplitude_experiment_id, created_by)
          VALUES (${randomUUID()}, ${workspace.workspaceId}, ${workspace.projectId}, 'Test', 'ab_experiment',
                  ${experimentId}, 'soak')`
      }
    }
  }).pipe(Effect.orDie)

const soak = (print: (line: string) => void, options: SoakBenchmarkOptions) =>
  Effect.gen(function*() {
    const adminUrl = yield* Config.string("BENCH_DATABASE_URL").pipe(
      Config.orElse(() => Config.string("TEST_DATABASE_URL")),
      Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres")
    )
    const database = yield* makeTestDatabase.pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TEST_DATABASE_URL", adminUrl]])))
    )
    const emulator = yield* startEmulatorProcess()
    const projects = yield* Effect.forEach(Array.from({ length: options.workspaces }, (_, i) => i), (i) =>
      emulator.createProject({
        id: `soak-${i}`,
        managementKeys: [`ampex_soak${String(i).padStart(8, "0")}`],
        data: { users: 5, days: 7, experiments: 4 }
      }))
    yield* emulator.injectFault({ kind: "latency", ms: options.latencyMs })
    const context = yield* Layer.build(
      Layer.mergeAll(AnnotationSchedulerLive, SealerLive).pipe(
        Layer.provideMerge(ClusterClientLive),
        Layer.provideMerge(MigrationsLive.pipe(Layer.provideMerge(PgLive(database.url, { maxConnections: 4 }))))
      )
    )
    return yield* Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const bets = yield* seed(projects, 10)
      yield* linkExperiments(
        projects,
        projects.map((project) =>
          project.data.experiments.map((e) =>
            e.id
          )
        )
      )
      const heapDir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "bench-soak-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const heapFile = join(heapDir, "runner.json")
      const runner = yield* startRunner("soak-runner", {
        DATABASE_URL: Redacted.value(database.url),
        DATABASE_POOL_SIZE: "8",
        FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
        AMPLITUDE_US_URL: emulator.urls.us,
        AMPLITUDE_EU_URL: emulator.urls.eu,
        AMPLITUDE_EXPERIMENT_US_URL: emulator.urls.experimentUs,
        AMPLITUDE_EXPERIMENT_EU_URL: emulator.urls.experimentEu,
        NODE_OPTIONS: `${process.env["NODE_OPTIONS"] ?? ""} --import=${
          new URL("./heap-probe.mjs", import.meta.url).href
        }`,
        BENCH_HEAP_FILE: heapFile,
        BENCH_LIVE_HEAP: "1"
      })
      yield* awaitRunners(1, "180 seconds")
      const readHeap = Effect.sync((): RunnerHeap => JSON.parse(readFileSync(heapFile, "utf8")) as RunnerHeap)
      const pid = runner.child.pid!
      print(
        `Soak: ${options.seconds} s, ${options.decisionsPerSecond} decisions/s, a sync night of ${options.workspaces} ` +
          `workspaces every ${options.syncEverySeconds} s, ${options.latencyMs} ms per Amplitude call; ${machineLoad()}`
      )

      let decided = 0
      let nights = 0
      const decisions = Effect.gen(function*() {
        const bet = bets[decided % bets.length]!
        const kind = KINDS[Math.floor(decided / bets.length) % KINDS.length] as AnnotationKind
        decided++
        yield* decide(bet, [kind])
      }).pipe(Effect.zipRight(Effect.sleep(`${1000 / options.decisionsPerSecond} millis`)), Effect.forever)
      const syncs = Effect.gen(function*() {
        const date = new Date(Date.UTC(2030, 0, 1 + nights)).toISOString().slice(0, 10)
        nights++
        yield* NightlySync.execute({ date }, { discard: true })
      }).pipe(Effect.zipRight(Effect.sleep(`${options.syncEverySeconds} seconds`)), Effect.forever)

      const warmUp = Math.max(1, Math.round(options.seconds / 5))
      const work = yield* Effect.fork(Effect.all([decisions, syncs], { concurrency: "unbounded", discard: true }))
      yield* Effect.sleep(`${warmUp} seconds`)
      const afterWarmUp = yield* readHeap
      const cpuAfterWarmUp = processCpuMs(pid)
      const decidedAfterWarmUp = decided
      yield* Effect.sleep(`${options.seconds - warmUp} seconds`)
      const atEnd = yield* readHeap
      const cpu = processCpuMs(pid) - cpuAfterWarmUp
      const decidedInRun = decided - decidedAfterWarmUp
      yield* work.interruptAsFork(work.id())
      const [counts] = yield* sql<{ pushed: number; pending: number; failed: number; nights: number }>`
        SELECT (SELECT count(*) FROM annotation_records WHERE status = 'pushed')::int AS pushed,
               (SELECT count(*) FROM annotation_records WHERE status = 'pending')::int AS pending,
               (SELECT count(*) FROM annotation_records WHERE status = 'failed')::int AS failed,
               (SELECT count(DISTINCT sync_date) FROM experiment_sync_runs WHERE status = 'succeeded')::int AS nights`
      yield* runner.kill("SIGTERM")
      if (counts!.pushed === 0) print(`  the runner pushed nothing; its last output:\n${runner.output().slice(-3000)}`)
      const change = (end: number, start: number) => `${(((end - start) / start) * 100).toFixed(1)} %`
      print(
        `  decisions made ${decided}; annotation records pushed ${counts!.pushed}, pending ${counts!.pending}, ` +
          `failed ${counts!.failed}; sync nights started ${nights}, nights with a succeeded workspace ${counts!.nights}`
      )
      print(
        `  runner live heap (after a full GC): ${megabytes(afterWarmUp.liveHeap)} after the ${warmUp} s warm-up, ` +
          `${megabytes(atEnd.liveHeap)} at the end (${change(atEnd.liveHeap, afterWarmUp.liveHeap)}; floor ±10 %)`
      )
      print(
        `  runner RSS: ${megabytes(afterWarmUp.rss)} after the warm-up, ${megabytes(atEnd.rss)} at the end (${
          change(atEnd.rss, afterWarmUp.rss)
        })`
      )
      print(
        `  runner CPU after the warm-up: ${(cpu / 1000).toFixed(1)} s over ${options.seconds - warmUp} s (${
          (cpu / Math.max(1, decidedInRun)).toFixed(1)
        } ms per decision, syncs included); ${machineLoad()}`
      )
      return Math.abs(atEnd.liveHeap - afterWarmUp.liveHeap) <= afterWarmUp.liveHeap * 0.1
    }).pipe(Effect.provide(context))
  }).pipe(Effect.scoped)

/** Runs the soak and reports through `print`; false when the runner's live heap moved by more than 10 %. */
export const runSoakBenchmark = (
  print: (line: string) => void,
  overrides: Partial<SoakBenchmarkOptions> = {}
): Promise<boolean> =>
  Effect.runPromise(soak(print, { ...DEFAULTS, ...overrides }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)))
