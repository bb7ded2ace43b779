import { Effect, Layer } from "effect"
import { type SealedSecretRecord, SealedSecretStore } from "../src/index.js"

export type StoreService = typeof SealedSecretStore.Service

/** Stand-in for the persistence implementation: ascending ids, byte-exact compare-and-swap. */
export const makeInMemoryStore = (records: Iterable<SealedSecretRecord>) => {
  const rows = new Map<string, SealedSecretRecord>()
  for (const record of records) rows.set(record.id, record)
  const service: StoreService = {
    listBatch: ({ afterId, limit }) =>
      Effect.sync(() =>
        [...rows.keys()]
          .sort()
          .filter((id) => afterId === null || id > afterId)
          .slice(0, limit)
          .map((id) => rows.get(id)!)
      ),
    replace: (id, expected, next) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined || !Buffer.from(row.sealed).equals(expected)) return false
        rows.set(id, { ...row, sealed: next })
        return true
      })
  }
  return { rows, service, layer: Layer.succeed(SealedSecretStore, service) }
}
