import { WorkflowEngine } from "@effect/workflow"
import { amplitudeTestClient, KeyringTest } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, type Experiment, type Project } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { ExperimentSyncRepo, IntegrationsRepo, TestsRepo, WorkspacesRepo } from "@findry/persistence"
import { TestSqlLive } from "@findry/persistence/testing"
import { Effect, Layer, Logger } from "effect"
import { ExperimentSync, ExperimentSyncSettings } from "../../src/ExperimentSync.js"
import { seedSyncWorkspace } from "../../src/Testing.js"
import { ExperimentSyncWorkflowsLive } from "../../src/Workflows.js"
import { FAST_POLICY } from "./Policy.js"

export { FAST_POLICY }

/**
 * The sync and both workflows on the in-memory workflow engine, over a fresh migrated database and a local
 * Amplitude emulator (no demo projects).
 */
export const SyncTestLive = (settings: Partial<ExperimentSyncSettings["Type"]> = {}) =>
  Layer.mergeAll(ExperimentSyncWorkflowsLive, ExperimentSync.Default).pipe(
    Layer.provideMerge(WorkflowEngine.layerMemory),
    Layer.provideMerge(ExperimentSyncSettings.layer({ policy: FAST_POLICY, ...settings })),
    Layer.provideMerge(
      Layer.mergeAll(
        TestsRepo.Default,
        ExperimentSyncRepo.Default,
        WorkspacesRepo.Default,
        IntegrationsRepo.Default,
        SecretSealer.DefaultWithoutDependencies
      )
    ),
    Layer.provideMerge(amplitudeTestClient(AmplitudeEmulator)),
    Layer.provideMerge(KeyringTest),
    Layer.provideMerge(TestSqlLive()),
    Layer.provideMerge(AmplitudeEmulator.layer({ demoProjects: false })),
    Layer.provide(Logger.remove(Logger.defaultLogger))
  )

let counter = 0

/**
 * An emulator project with `experiments` seeded experiments, all projects of a size sharing one data set.
 * `managementKey` picks the kind of key the workspace will hold.
 */
export const emulatorProject = (options: {
  readonly experiments?: number
  readonly managementKey?: "full" | "none" | "revoked"
} = {}) =>
  Effect.gen(function*() {
    const emulator = yield* AmplitudeEmulator
    const n = ++counter
    const hex = (n + 1_000_000).toString(16).padStart(32, "0")
    const key = `ampex_sync${String(n).padStart(8, "0")}`
    const access = options.managementKey ?? "full"
    return yield* emulator.createProject({
      id: `sync-${n}`,
      apiKey: hex,
      secretKey: `S${hex.slice(1)}`,
      managementKeys: [{ key, access: access === "none" ? "none" : "full", revoked: access === "revoked" }],
      data: {
        seed: `sync-data-${options.experiments ?? 20}`,
        users: 3,
        days: 2,
        experiments: options.experiments ?? 20
      }
    })
  })

/**
 * A workspace connected to the emulator's `project` with its management key, and one `ab_experiment` test per
 * entry of `links` (see `seedSyncWorkspace`).
 */
export const seedWorkspace = (project: Project, links: ReadonlyArray<Experiment | string>) =>
  seedSyncWorkspace({ ...project, managementKey: project.managementKeys[0]!.key }, links)

/** The emulator's experiment in the adapter's shape (what the sync would read). */
export const toAdapterExperiment = (experiment: Experiment) => ({
  id: experiment.id,
  projectId: experiment.projectId,
  key: experiment.key,
  name: experiment.name,
  description: experiment.description,
  state: experiment.state,
  decision: experiment.decision,
  decisionReason: experiment.decisionReason,
  rolledOutVariant: experiment.rolledOutVariant,
  enabled: experiment.enabled,
  experimentType: experiment.experimentType,
  variants: experiment.variants.map((variant) => ({ key: variant.key, name: variant.name ?? null })),
  startDate: experiment.startDate,
  endDate: experiment.endDate,
  archived: experiment.archived,
  deleted: experiment.deleted,
  tags: experiment.tags,
  createdAt: experiment.createdAt,
  lastModifiedAt: experiment.lastModifiedAt
})
