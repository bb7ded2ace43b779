import { AMPLITUDE_PROVIDER, credentialBinding } from "@findry/amplitude-adapter"
import { SecretSealer } from "@findry/crypto"
import { type ProjectId, UserId, type WorkspaceId } from "@findry/domain"
import { type IntegrationSettings, IntegrationsRepo, TestsRepo, WorkspacesRepo } from "@findry/persistence"
import { Effect, Option, Redacted } from "effect"

/** The Amplitude project a seeded workspace connects to, with the management key the sync needs. */
export interface SyncProjectKeys {
  readonly id: string
  readonly name: string
  readonly region: "us" | "eu"
  readonly appId: number
  readonly apiKey: string
  readonly secretKey: string
  readonly managementKey: string
}

/** An experiment of the project as a test links it: the emulator's experiments fit. */
export interface SeedExperiment {
  readonly id: string
  readonly key: string
  readonly name: string
  readonly startDate: string | null
  readonly endDate: string | null
  readonly deleted?: boolean
  readonly variants: ReadonlyArray<{ readonly key: string; readonly name?: string | null | undefined }>
}

export interface SeededWorkspace {
  readonly workspaceId: WorkspaceId
  readonly projectId: ProjectId
  readonly testIds: ReadonlyArray<string>
}

/**
 * A workspace connected to `project` with its management key, and one `ab_experiment` test per entry of
 * `links`: an experiment of the project (stored with a stale state, as if synced long ago) or a bare id
 * Amplitude does not know. Needs the repositories and a `SecretSealer` on the keyring the sync will open with.
 */
export const seedSyncWorkspace = (project: SyncProjectKeys, links: ReadonlyArray<SeedExperiment | string>) =>
  Effect.gen(function*() {
    const workspaces = yield* WorkspacesRepo
    const integrations = yield* IntegrationsRepo
    const tests = yield* TestsRepo
    const sealer = yield* SecretSealer
    const workspace = yield* workspaces.create("Sync", UserId.make("sync-admin"))
    const projectRow = yield* workspaces.createProject(workspace.id, "Main")
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
      credential1: yield* sealer.seal(Redacted.make(project.apiKey), credentialBinding(workspace.id, "apiKey")),
      credential2: yield* sealer.seal(Redacted.make(project.secretKey), credentialBinding(workspace.id, "secretKey")),
      projectFingerprint: `fp-${project.id}`,
      displayName: project.name,
      settings,
      keepCredential3: false
    })
    yield* integrations.setCredential3(
      workspace.id,
      AMPLITUDE_PROVIDER,
      yield* sealer.seal(Redacted.make(project.managementKey), credentialBinding(workspace.id, "managementKey"))
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
        : {
          experimentId: link.id,
          key: link.key,
          name: link.name,
          state: "stale",
          decision: null,
          startDate: link.startDate,
          endDate: link.endDate,
          variants: link.variants.map((variant) =>
            variant.name === undefined || variant.name === null
              ? { key: variant.key }
              : { key: variant.key, name: variant.name }
          ),
          archived: false,
          deleted: link.deleted ?? false
        }
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
