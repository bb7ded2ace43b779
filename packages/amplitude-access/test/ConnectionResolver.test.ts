import { assert, describe, layer } from "@effect/vitest"
import { AMPLITUDE_PROVIDER, CallPolicy, credentialBinding } from "@findry/amplitude-adapter"
import { amplitudeTestClient, KeyringTest } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, type Project } from "@findry/amplitude-emulator"
import { SecretSealer } from "@findry/crypto"
import { UserId, type WorkspaceId } from "@findry/domain"
import { IntegrationsRepo, WorkspacesRepo } from "@findry/persistence"
import { TestSqlLive } from "@findry/persistence/testing"
import { Effect, Either, Layer, Logger, Option, Redacted } from "effect"
import { ConnectionResolver } from "../src/ConnectionResolver.js"
import { failureReason } from "../src/FailureReason.js"

const ResolverTestLive = ConnectionResolver.Default.pipe(
  Layer.provideMerge(
    Layer.mergeAll(WorkspacesRepo.Default, IntegrationsRepo.Default, SecretSealer.DefaultWithoutDependencies)
  ),
  Layer.provideMerge(amplitudeTestClient(AmplitudeEmulator, { timeout: "2 seconds" })),
  Layer.provideMerge(KeyringTest),
  Layer.provideMerge(TestSqlLive()),
  Layer.provideMerge(AmplitudeEmulator.layer({ demoProjects: false })),
  Layer.provide(Logger.remove(Logger.defaultLogger))
)

let projects = 0

const emulatorProject = Effect.gen(function*() {
  const n = ++projects
  const hex = (n + 2_000_000).toString(16).padStart(32, "0")
  return yield* (yield* AmplitudeEmulator).createProject({
    id: `resolver-${n}`,
    apiKey: hex,
    secretKey: `S${hex.slice(1)}`,
    managementKeys: [`ampex_resolver${String(n).padStart(6, "0")}`],
    data: { seed: "resolver", users: 3, days: 2, experiments: 2 }
  })
})

/**
 * A workspace connected to `project` as the API stores it. `sealedFor` seals the keys to another workspace (as
 * if copied from its row), so they no longer open here.
 */
const connectedWorkspace = (
  project: Project,
  options: { readonly managementKey?: boolean; readonly sealedFor?: string } = {}
) =>
  Effect.gen(function*() {
    const integrations = yield* IntegrationsRepo
    const sealer = yield* SecretSealer
    const workspace = yield* (yield* WorkspacesRepo).create("Resolver", UserId.make("resolver-admin"))
    const owner = options.sealedFor ?? workspace.id
    const seal = (value: string, slot: "apiKey" | "secretKey" | "managementKey") =>
      sealer.seal(Redacted.make(value), credentialBinding(owner, slot))
    yield* integrations.saveConnected({
      workspaceId: workspace.id,
      provider: AMPLITUDE_PROVIDER,
      region: project.region,
      credential1: yield* seal(project.apiKey, "apiKey"),
      credential2: yield* seal(project.secretKey, "secretKey"),
      projectFingerprint: `fp-${project.id}`,
      displayName: project.name,
      settings: {
        annotationsEnabled: true,
        capabilities: { taxonomy: true, experiments: false },
        appId: project.appId,
        displayNameByAdmin: false
      },
      keepCredential3: false
    })
    if (options.managementKey === true) {
      yield* integrations.setCredential3(
        workspace.id,
        AMPLITUDE_PROVIDER,
        yield* seal(project.managementKeys[0]!.key, "managementKey")
      )
    }
    return workspace.id
  })

const failureTags = (workspaceId: WorkspaceId) =>
  Effect.gen(function*() {
    const resolver = yield* ConnectionResolver
    const live = yield* Effect.flip(resolver.live(workspaceId))
    const experiments = yield* Effect.flip(resolver.withExperiments(workspaceId))
    return [live._tag, experiments._tag]
  })

describe("ConnectionResolver", () => {
  layer(ResolverTestLive, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("a workspace that never connected is NotConnected", () =>
      Effect.gen(function*() {
        const workspace = yield* (yield* WorkspacesRepo).create("Never", UserId.make("resolver-admin"))
        assert.deepStrictEqual(yield* failureTags(workspace.id), ["NotConnected", "NotConnected"])
      }))

    it.effect("a disconnected workspace is NotConnected, even for Experiment calls", () =>
      Effect.gen(function*() {
        const workspaceId = yield* connectedWorkspace(yield* emulatorProject, { managementKey: true })
        yield* (yield* IntegrationsRepo).disconnect(workspaceId, AMPLITUDE_PROVIDER)
        assert.deepStrictEqual(yield* failureTags(workspaceId), ["NotConnected", "NotConnected"])
      }))

    it.effect("a connection without a management key calls the project; Experiment calls are ManagementKeyRequired", () =>
      Effect.gen(function*() {
        const project = yield* emulatorProject
        const workspaceId = yield* connectedWorkspace(project)
        const resolver = yield* ConnectionResolver
        const live = yield* resolver.live(workspaceId, { policy: CallPolicy.background })
        assert.strictEqual(live.record.workspaceId, workspaceId)
        assert.strictEqual(live.record.projectFingerprint, `fp-${project.id}`)
        assert.strictEqual(live.connection.policy, CallPolicy.background, "the handle calls with the given policy")
        assert.isAbove((yield* live.connection.listEvents()).length, 0, "the handle opens the stored keys")
        const missing = yield* Effect.flip(resolver.withExperiments(workspaceId))
        assert.strictEqual(missing._tag, "ManagementKeyRequired")
      }))

    it.effect("with a management key, the Experiment calls reach the project's experiments", () =>
      Effect.gen(function*() {
        const project = yield* emulatorProject
        const workspaceId = yield* connectedWorkspace(project, { managementKey: true })
        const { connection, experiments } = yield* (yield* ConnectionResolver).withExperiments(workspaceId)
        assert.strictEqual(connection.policy, CallPolicy.interactive, "interactive unless told otherwise")
        const experiment = project.data.experiments[0]!
        const found = yield* experiments.get(experiment.id)
        assert.strictEqual(Option.getOrThrow(found).key, experiment.key)
      }))

    it.effect("keys that cannot be opened resolve, and the first call fails with CredentialsUnreadable", () =>
      Effect.gen(function*() {
        const project = yield* emulatorProject
        const workspaceId = yield* connectedWorkspace(project, { sealedFor: "another-workspace" })
        const live = yield* (yield* ConnectionResolver).live(workspaceId)
        const failure = yield* Effect.flip(live.connection.listEvents())
        assert.strictEqual(failure._tag, "CredentialsUnreadable")
        if (failure._tag !== "CredentialsUnreadable") return
        assert.strictEqual(failure.slot, "apiKey")
        assert.match(failureReason(failure), /^The stored Amplitude credentials can't be read/)
        const requests = yield* (yield* AmplitudeEmulator).requests({ project: project.id })
        assert.deepStrictEqual(requests, [], "nothing was sent to Amplitude")
      }))

    it.effect("many workspaces resolve in one read, each as it would alone", () =>
      Effect.gen(function*() {
        const resolver = yield* ConnectionResolver
        const project = yield* emulatorProject
        const withKey = yield* connectedWorkspace(project, { managementKey: true })
        const withoutKey = yield* connectedWorkspace(project)
        const disconnected = yield* connectedWorkspace(project, { managementKey: true })
        yield* (yield* IntegrationsRepo).disconnect(disconnected, AMPLITUDE_PROVIDER)
        const never = (yield* (yield* WorkspacesRepo).create("Never", UserId.make("resolver-admin"))).id
        const ids = [withKey, withoutKey, disconnected, never]
        const tag = <A, E extends { readonly _tag: string }>(either: Either.Either<A, E> | undefined) =>
          either === undefined ? "absent" : Either.isRight(either) ? "live" : either.left._tag
        const live = yield* resolver.liveAll(ids, { policy: CallPolicy.background })
        assert.deepStrictEqual(ids.map((id) => tag(live.get(id))), ["live", "live", "NotConnected", "NotConnected"])
        const handle = Either.getOrThrow(live.get(withoutKey)!)
        assert.strictEqual(handle.connection.policy, CallPolicy.background)
        assert.strictEqual(handle.record.workspaceId, withoutKey)
        const experiments = yield* resolver.withExperimentsAll(ids)
        assert.deepStrictEqual(
          ids.map((id) => tag(experiments.get(id))),
          ["live", "ManagementKeyRequired", "NotConnected", "NotConnected"]
        )
        const found = yield* Either.getOrThrow(experiments.get(withKey)!).experiments.get(
          project.data.experiments[0]!.id
        )
        assert.isTrue(Option.isSome(found), "the handle reaches the project's experiments")
        assert.strictEqual((yield* resolver.liveAll([])).size, 0)
      }))
  })
})
