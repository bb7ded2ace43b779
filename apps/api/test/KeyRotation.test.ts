import { assert, describe, layer } from "@effect/vitest"
import { AmplitudeClient } from "@findry/amplitude-adapter"
import { amplitudeTestClient, encryptionKeysConfig, testKeyring } from "@findry/amplitude-adapter/testing"
import { AmplitudeEmulator, DEMO_PROJECTS } from "@findry/amplitude-emulator"
import { Keyring, rotateSecrets, SecretSealer } from "@findry/crypto"
import { UserId, WorkspaceId } from "@findry/domain"
import { IntegrationsRepo, WorkspacesRepo } from "@findry/persistence"
import { TestSqlLive } from "@findry/persistence/testing"
import { Effect, Layer, Option, Redacted } from "effect"
import { SealedSecretStoreLive } from "../src/amplitude-connection/KeyRotation.js"

const OLD = `old:${Buffer.alloc(32, 5).toString("base64")}`
const NEW = `new:${Buffer.alloc(32, 6).toString("base64")}`
const US = DEMO_PROJECTS.us

const sealerWith = (keyring: string) =>
  SecretSealer.DefaultWithoutDependencies.pipe(Layer.provide(testKeyring(keyring)))

/** The adapter as an app would build it, with `keyring` as FINDRY_ENCRYPTION_KEYS. */
const adapterWith = (keyring: string) =>
  amplitudeTestClient(AmplitudeEmulator).pipe(
    Layer.provide(Keyring.Default),
    Layer.provide(encryptionKeysConfig(keyring))
  )

const listCohortsWith = (keyring: string, workspaceId: string) =>
  Effect.gen(function*() {
    const row = Option.getOrThrow(yield* (yield* IntegrationsRepo).find(WorkspaceId.make(workspaceId), "amplitude"))
    const client = yield* AmplitudeClient
    return yield* client.connection({
      workspaceId,
      region: "us",
      apiKey: row.credential1!,
      secretKey: row.credential2!,
      managementKey: row.credential3
    }).listCohorts().pipe(Effect.either)
  }).pipe(Effect.provide(adapterWith(keyring)))

describe("key rotation", () => {
  layer(
    Layer.mergeAll(IntegrationsRepo.Default, WorkspacesRepo.Default).pipe(
      Layer.provideMerge(TestSqlLive()),
      Layer.provideMerge(AmplitudeEmulator.layer())
    ),
    { timeout: "60 seconds", excludeTestServices: true }
  )((it) => {
    it.effect("re-seals every stored credential under the newest key, after which older keys can be dropped", () =>
      Effect.gen(function*() {
        const workspaces = yield* WorkspacesRepo
        const integrations = yield* IntegrationsRepo
        const ids: Array<string> = []
        yield* Effect.gen(function*() {
          const sealer = yield* SecretSealer
          for (let index = 0; index < 3; index++) {
            const workspace = yield* workspaces.create(`Rotation ${index}`, UserId.make("rotator"))
            const binding = (slot: number) => ({ workspaceId: workspace.id, provider: "amplitude", slot })
            yield* integrations.saveConnected({
              workspaceId: workspace.id,
              provider: "amplitude",
              region: "us",
              credential1: yield* sealer.seal(Redacted.make(US.apiKey), binding(1)),
              credential2: yield* sealer.seal(Redacted.make(US.secretKey), binding(2)),
              projectFingerprint: "fingerprint",
              displayName: "Demo",
              settings: {
                annotationsEnabled: true,
                capabilities: { taxonomy: true, experiments: false },
                appId: null,
                displayNameByAdmin: false
              },
              keepCredential3: false
            })
            ids.push(workspace.id)
          }
        }).pipe(Effect.provide(sealerWith(OLD)))

        assert.isTrue((yield* listCohortsWith(OLD, ids[0]!))._tag === "Right")
        assert.isTrue((yield* listCohortsWith(NEW, ids[0]!))._tag === "Left", "the new key alone cannot open yet")

        const rotate = rotateSecrets({ batchSize: 2 }).pipe(
          Effect.provide(Layer.mergeAll(SealedSecretStoreLive, sealerWith(`${NEW},${OLD}`)))
        )
        const first = yield* rotate
        assert.strictEqual(first.rewrapped, 6)
        assert.strictEqual(first.failed, 0)
        assert.strictEqual(first.remainingOnOldKeys, 0)
        const second = yield* rotate
        assert.deepStrictEqual([second.rewrapped, second.skipped, second.remainingOnOldKeys], [0, 6, 0])

        for (const id of ids) {
          const listed = yield* listCohortsWith(NEW, id)
          assert.strictEqual(listed._tag, "Right", `workspace ${id} opens with the new key alone`)
        }
        assert.strictEqual((yield* listCohortsWith(OLD, ids[1]!))._tag, "Left")
      }))
  })
})
