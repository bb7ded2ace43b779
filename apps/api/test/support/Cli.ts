import { SqlClient } from "@effect/sql"
import { KeyringTest, TEST_ENCRYPTION_KEYS } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, type Project } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { type AnnotationKind, type AnnotationStatus, type WorkspaceId } from "@findry/domain"
import { seedSyncWorkspace } from "@findry/experiment-sync/testing"
import { runMain } from "@findry/observability/testing"
import { TestDatabase } from "@findry/persistence/testing"
import { Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../../src/cli.ts", import.meta.url))

/** Seals with the keyring the CLI processes read (`TEST_ENCRYPTION_KEYS` as `FINDRY_ENCRYPTION_KEYS`). */
export const SealerLive = SecretSealer.DefaultWithoutDependencies.pipe(Layer.provide(KeyringTest))

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `findry ...args` in a process of its own with only `env`. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>): Effect.Effect<CliResult> =>
  runMain(main, env, args)

/** The variables a CLI process gets on the suite's database, plus `extra`. */
export const cliEnv = (extra: Record<string, string> = {}) =>
  Effect.map(TestDatabase, (database): Record<string, string> => ({
    DATABASE_URL: Redacted.value(database.url),
    FINDRY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    ...extra
  }))

/** The Amplitude variables pointing a CLI or runner process at the suite's emulator. */
export const emulatorEnv = Effect.map(AmplitudeEmulator, (emulator) => ({
  AMPLITUDE_US_URL: emulator.urls.us,
  AMPLITUDE_EU_URL: emulator.urls.eu,
  AMPLITUDE_EXPERIMENT_US_URL: emulator.urls.experimentUs,
  AMPLITUDE_EXPERIMENT_EU_URL: emulator.urls.experimentEu,
  AMPLITUDE_TIMEOUT_MS: "5000"
}))

let projects = 0

/** An emulator project with `experiments` experiments; `managementKey: "revoked"` makes every Experiment call 401. */
export const emulatorProject = (options: { readonly managementKey?: "full" | "revoked" } = {}) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const n = ++projects
    const hex = (n + 2_000_000).toString(16).padStart(32, "0")
    return yield* emulator.createProject({
      id: `cli-${n}`,
      apiKey: hex,
      secretKey: `S${hex.slice(1)}`,
      managementKeys: [{
        key: `ampex_cli${String(n).padStart(8, "0")}`,
        access: "full",
        revoked: options.managementKey === "revoked"
      }],
      data: { seed: "cli-data", users: 3, days: 2, experiments: 3 }
    })
  })

/**
 * A workspace connected to `project` (with its management key) and one test linked to each of the project's
 * first `linked` experiments, stored with a stale state as if synced long ago.
 */
export const seedSyncedWorkspace = (project: Project, linked = 2) =>
  seedSyncWorkspace(
    { ...project, managementKey: project.managementKeys[0]!.key },
    project.data.experiments.slice(0, linked)
  ).pipe(Effect.map((seeded) => seeded.workspaceId))

export interface SeededAnnotation {
  readonly kind: AnnotationKind
  readonly status: AnnotationStatus
  readonly reason?: string
  readonly attempts?: number
  /** Marks the record retryable by fresh keys for the project with this fingerprint. */
  readonly retryableFor?: string
}

/**
 * A workspace with one shipped bet (verdict decided, so the outcome sweep leaves it alone) and the given
 * annotation records of that bet. Returns the workspace and bet ids.
 */
export const seedBet = (
  name: string,
  annotations: ReadonlyArray<SeededAnnotation>,
  options: { readonly workspaceId?: WorkspaceId } = {}
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const workspaceId = options.workspaceId ?? randomUUID() as WorkspaceId
    const projectId = randomUUID()
    const metricId = randomUUID()
    const betId = randomUUID()
    if (options.workspaceId === undefined) {
      yield* sql`INSERT INTO workspaces (id, name) VALUES (${workspaceId}, ${name})`
    }
    yield* sql`INSERT INTO projects (id, workspace_id, name) VALUES (${projectId}, ${workspaceId}, 'Web')`
    yield* sql`
      INSERT INTO metrics (id, workspace_id, name, unit) VALUES (${metricId}, ${workspaceId}, 'Conversion', 'percent')`
    yield* sql`
      INSERT INTO bets (
        id, workspace_id, project_id, title, status, metric_id, direction, magnitude, magnitude_unit, timeframe_days,
        promoted_at, shipped_at, created_by)
      VALUES (
        ${betId}, ${workspaceId}, ${projectId}, ${`Bet of ${name}`}, 'shipped', ${metricId}, 'increase', 5, 'percent',
        14, now() - interval '30 days', now() - interval '20 days', 'seed')`
    yield* sql`
      INSERT INTO outcomes (bet_id, workspace_id, ship_date, what_shipped, verdict, verdict_source, verdict_at)
      VALUES (${betId}, ${workspaceId}, (now() - interval '20 days')::date, 'It', 'hit', 'sweep', now())`
    for (const [index, annotation] of annotations.entries()) {
      yield* sql`
        INSERT INTO annotation_records (
          bet_id, kind, workspace_id, status, label, annotation_at, reason, attempts, updated_at, project_fingerprint,
          retryable)
        VALUES (
          ${betId}, ${annotation.kind}, ${workspaceId}, ${annotation.status}, ${`${annotation.kind}: Bet of ${name}`},
          now(), ${annotation.reason ?? null}, ${annotation.attempts ?? 0}, now() - make_interval(mins => ${index}),
          ${annotation.retryableFor ?? null}, ${annotation.retryableFor !== undefined})`
    }
    return { workspaceId, betId }
  }).pipe(Effect.orDie)

/** A measurement run of the outcome sweep, `minutesAgo` minutes ago, with values or with only a warning. */
export const seedSweepRun = (
  bet: { readonly workspaceId: string; readonly betId: string },
  run: { readonly minutesAgo: number; readonly measured: boolean; readonly warning?: string }
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO outcome_runs (
        id, bet_id, workspace_id, trigger, measured_at, baseline, observed, verdict, warnings)
      VALUES (
        ${randomUUID()}, ${bet.betId}, ${bet.workspaceId}, 'sweep', now() - make_interval(mins => ${run.minutesAgo}),
        ${run.measured ? 10 : null}, ${run.measured ? 12 : null}, ${run.measured ? "hit" : null},
        ${JSON.stringify(run.warning === undefined ? [] : [run.warning])}::jsonb)`
  }).pipe(Effect.orDie)

/** One workspace's outcome of the experiment sync for the night `date`. */
export const seedSyncRun = (
  workspaceId: string,
  date: string,
  outcome: { readonly status: "succeeded" | "failed" | "skipped"; readonly reason?: string; readonly message?: string }
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO experiment_sync_runs (
        workspace_id, sync_date, status, attempts, tests_total, tests_synced, reason, message, started_at, finished_at)
      VALUES (
        ${workspaceId}, ${date}::date, ${outcome.status}, 1, 1, ${outcome.status === "succeeded" ? 1 : 0},
        ${outcome.reason ?? null}, ${outcome.message ?? null}, now(), now())`
  }).pipe(Effect.orDie)
