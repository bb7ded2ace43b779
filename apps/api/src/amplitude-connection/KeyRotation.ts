import { SealedSecretStore } from "@findry/crypto"
import { IntegrationsRepo } from "@findry/persistence"
import { Effect, Layer } from "effect"

/** Every sealed integration credential, for `rotateSecrets`. */
export const SealedSecretStoreLive = Layer.effect(
  SealedSecretStore,
  Effect.gen(function*() {
    const integrations = yield* IntegrationsRepo
    return SealedSecretStore.of({
      listBatch: (options) =>
        Effect.map(integrations.sealedCredentials(options), (rows) =>
          rows.map((row) => ({
            id: row.id,
            binding: { workspaceId: row.workspaceId, provider: row.provider, slot: row.slot },
            sealed: row.sealed
          }))),
      replace: integrations.replaceCredential
    })
  })
).pipe(Layer.provide(IntegrationsRepo.Default))
