import { NodeHttpClient } from "@effect/platform-node"
import { WorkflowEngine } from "@effect/workflow"
import { AMPLITUDE_PROVIDER, AmplitudeClient, AmplitudeConfig, AmplitudeGovernor } from "@findry/amplitude-adapter"
import { AmplitudeEmulator, type Experiment, type Project } from "@findry/amplitude-emulator"
import { Keyring, SecretSealer } from "@findry/crypto"
import { SecretOpener } from "@findry/crypto/opener"
import { type ProjectId, UserId, type WorkspaceId } from "@findry/domain"
import {
  ExperimentSyncRepo,
  type IntegrationSettings,
  IntegrationsRepo,
  TestsRepo,
  WorkspacesRepo
} from "@findry/persistence"
import { TestSqlLive } from "@findry/persistence/testing"
import { Effect, Layer, Logger, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { experimentFields } from "../../src/ExperimentFields.js"
import { ExperimentSync, ExperimentSyncSettings } from "../../src/ExperimentSync.js"
import { ExperimentSyncWorkflowsLive } from "../../src/Workflows.js"
import { FAST_POLICY } from "./Policy.js"

export { FAST_POLICY }

/** This process's test keyring, in `FINDRY_ENCRYPTION_KEYS` form (runner processes get the same). */
export const TEST_KEYS = `test:${randomBytes(32).toString("base64")}`

export const KeyringTest = Keyring.layerFromString(TEST_KEYS).pipe(Layer.orDie)

const AmplitudeFromEmulator = Layer.unwrapEffect(
  Effect.map(AmplitudeEmulator, (emulator) =>
    AmplitudeClient.DefaultWithoutDependencies.pipe(
      Layer.provide([
        AmplitudeGovernor.Default,
        SecretOpener.DefaultWithoutDependencies,
        AmplitudeConfig.layer({
          usUrl: emulator.urls.us,
          euUrl: emulator.urls.eu,
          experimentUsUrl: emulator.urls.experimentUs,
          experimentEuUrl: emulator.urls.experimentEu,
          timeout: "1 second"
        }),
        NodeHttpClient.layerUndici
      ])
    ))
)

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
    Layer.provideMerge(AmplitudeFromEmulator),
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

export interface SeededWorkspace {
  readonly workspaceId: WorkspaceId
  readonly projectId: ProjectId
  readonly testIds: ReadonlyArray<string>
}

/**
 * A workspace connected to `project` with its management key, and one `ab_experiment` test per entry of
 * `links`: an experiment of the project (stored with a stale state, as if synced long ago) or a bare id
 * Amplitude does not know.
 */
export const seedWorkspace = (project: Project, links: ReadonlyArray<Experiment | string>) =>
  Effect.gen(function*() {
    const workspaces = yield* WorkspacesRepo
    const integrations = yield* IntegrationsRepo
    const tests = yield* TestsRepo
    const sealer = yield* SecretSealer
    const workspace = yield* workspaces.create("Sync", UserId.make("sync-admin"))
    const projectRow = yield* workspaces.createProject(workspace.id, "Main")
    const binding = (slot: number) => ({ workspaceId: workspace.id, provider: AMPLITUDE_PROVIDER, slot })
    const settings: IntegrationSettings = {
      annotationsEnabled: true,
      capabilities: { taxonomy: true, experiments: true },
      appId: project.appId,
      displayNameByAdmin: false
    }
    yield* integrations.saveConnected({
      workspaceId: workspace.id,
      provider: AMPLITUDE_PROVIDER,
      region: project.region,
      credential1: yield* sealer.seal(Redacted.make(project.apiKey), binding(1)),
      credential2: yield* sealer.seal(Redacted.make(project.secretKey), binding(2)),
      projectFingerprint: `fp-${project.id}`,
      displayName: project.name,
      settings,
      keepCredential3: false
    })
    yield* integrations.setCredential3(
      workspace.id,
      AMPLITUDE_PROVIDER,
      yield* sealer.seal(Redacted.make(project.managementKeys[0]!.key), binding(3))
    )
    const testIds: Array<string> = []
    for (const [index, link] of links.entries()) {
      const fields = typeof link === "string"
        ? {
          experimentId: link,
          key: `gone-${link}`,
          name: `Gone ${link}`,
          state: "running",
          decision: null,
          startDate: "2026-01-01",
          endDate: null,
          variants: [{ key: "control" }],
          archived: false,
          deleted: false
        }
        : { ...experimentFields(toAdapterExperiment(link)), state: "stale", decision: null, archived: false }
      const created = yield* tests.create({
        workspaceId: workspace.id,
        projectId: projectRow.id,
        name: `Test ${index}`,
        type: "ab_experiment",
        createdBy: "sync-admin",
        experiment: fields
      })
      testIds.push(Option.getOrThrow(created).id)
    }
    return { workspaceId: workspace.id, projectId: projectRow.id, testIds } satisfies SeededWorkspace
  })

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
