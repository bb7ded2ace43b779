import { BetId, MetricId, ProjectId, UserId, WorkspaceId } from "@findry/domain"
import { Effect, Option } from "effect"
import { BetsRepo } from "../src/BetsRepo.js"
import type { ConnectedIntegration } from "../src/IntegrationsRepo.js"
import { MetricsRepo } from "../src/MetricsRepo.js"
import type { ExperimentFields } from "../src/TestsRepo.js"
import { WorkspacesRepo } from "../src/WorkspacesRepo.js"

let counter = 0

/** A label unique in this process, for names that must not collide between tests sharing a database. */
export const unique = (label: string) => `${label} ${process.pid}-${++counter}`

export const ADMIN = UserId.make("admin-1")

/** A workspace with `ADMIN` as its admin and one project. */
export const seedWorkspace = Effect.gen(function*() {
  const workspaces = yield* WorkspacesRepo
  const workspace = yield* workspaces.create(unique("Workspace"), ADMIN)
  const project = yield* workspaces.createProject(workspace.id, "Main")
  return { workspaceId: workspace.id, projectId: project.id }
})

/** A seeded workspace with a metric and a promoted bet on it. */
export const seedBet = Effect.gen(function*() {
  const { projectId, workspaceId } = yield* seedWorkspace
  const metric = Option.getOrThrow(
    yield* (yield* MetricsRepo).create(workspaceId, { name: unique("Activation"), unit: "percent", description: null })
  )
  const bet = yield* (yield* BetsRepo).insert({
    workspaceId,
    projectId,
    title: "Shorter onboarding",
    metricId: metric.id,
    direction: "increase",
    magnitude: 5,
    magnitudeUnit: "percent",
    timeframeDays: 14,
    cohortId: null,
    createdBy: ADMIN
  })
  return { workspaceId, projectId, metricId: metric.id, betId: bet.id }
})

/** Ids that exist nowhere. */
export const unknownWorkspace = () => WorkspaceId.make(crypto.randomUUID())
export const unknownProject = () => ProjectId.make(crypto.randomUUID())
export const unknownMetric = () => MetricId.make(crypto.randomUUID())
export const unknownBet = () => BetId.make(crypto.randomUUID())

/** What Amplitude says about experiment `id`, as a test link or the sync stores it. */
export const experiment = (id: string, overrides: Partial<ExperimentFields> = {}): ExperimentFields => ({
  experimentId: id,
  key: `key-${id}`,
  name: `Experiment ${id}`,
  state: "running",
  decision: null,
  startDate: "2026-11-01",
  endDate: null,
  variants: [{ key: "control" }, { key: "treatment", name: "Treatment" }],
  archived: false,
  deleted: false,
  ...overrides
})

const bytes = (text: string) => new TextEncoder().encode(text)

/** A validated Amplitude connection of the workspace whose sealed keys are `label`-prefixed plain bytes. */
export const connection = (
  workspaceId: WorkspaceId,
  label: string,
  options: Partial<ConnectedIntegration> = {}
): ConnectedIntegration => ({
  workspaceId,
  provider: "amplitude",
  region: "us",
  credential1: { sealed: bytes(`${label}-api`), prefix: `${label}-a` },
  credential2: { sealed: bytes(`${label}-secret`), prefix: `${label}-s` },
  projectFingerprint: `fp-${label}`,
  displayName: `Project ${label}`,
  settings: {
    annotationsEnabled: true,
    capabilities: { taxonomy: false, experiments: false },
    appId: null,
    displayNameByAdmin: false
  },
  keepCredential3: false,
  ...options
})

/** A sealed management key (slot 3). */
export const management = (label: string) => ({ sealed: bytes(`${label}-management`), prefix: `${label}-m` })
