import { Context, Effect } from "effect"
import * as Envelope from "./internal/Envelope.js"
import type { SealedSecretFailureReason } from "./SealedSecretError.js"
import type { SecretBinding } from "./SecretBinding.js"
import { SecretSealer } from "./SecretSealer.js"

export interface SealedSecretRecord {
  readonly id: string
  readonly binding: SecretBinding
  readonly sealed: Uint8Array
}

/** Port to wherever sealed secrets are stored; persistence implements it. */
export class SealedSecretStore extends Context.Tag("@findry/crypto/SealedSecretStore")<SealedSecretStore, {
  /**
   * Up to `limit` records whose id sorts after `afterId` (from the start when `null`), in ascending id
   * order. Fewer than `limit` records means there are no more.
   */
  readonly listBatch: (options: {
    readonly afterId: string | null
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<SealedSecretRecord>>
  /** Compare-and-swap: stores `next` only if the record still holds exactly `expected`. */
  readonly replace: (id: string, expected: Uint8Array, next: Uint8Array) => Effect.Effect<boolean>
}>() {}

export interface RotationProgress {
  readonly scanned: number
  /** Re-sealed under the current key and stored. */
  readonly rewrapped: number
  /** Already under the current key. */
  readonly skipped: number
  /** Changed by someone else between reading and replacing; left as the other writer stored it. */
  readonly conflicts: number
  /** Could not be re-sealed (see `failures`). */
  readonly failed: number
  /** Id of the last record processed. */
  readonly lastId: string | null
}

export interface RotationFailure {
  readonly id: string
  readonly reason: SealedSecretFailureReason
}

export interface KeyUsage {
  readonly currentKeyId: string
  readonly total: number
  /** Number of values per key id named in their header, whether or not that key is still in the keyring. */
  readonly byKeyId: Readonly<Record<string, number>>
  /** Values whose header names a key other than the current one. */
  readonly onOldKeys: number
  /** Values whose header cannot be read (malformed or unsupported version). */
  readonly unreadable: number
}

export interface RotationReport extends RotationProgress {
  readonly currentKeyId: string
  /** The first 100 failures. */
  readonly failures: ReadonlyArray<RotationFailure>
  /** Values still not under the current key once the run finished, counted by a fresh scan. */
  readonly remainingOnOldKeys: number
  readonly usage: KeyUsage
}

export interface RotationOptions<R> {
  /** Records per `listBatch` call; defaults to 100. */
  readonly batchSize?: number
  /** Called after every batch. */
  readonly onProgress?: (progress: RotationProgress) => Effect.Effect<void, never, R>
}

const DEFAULT_BATCH_SIZE = 100
const MAX_REPORTED_FAILURES = 100

const checkBatchSize = (batchSize: number | undefined): Effect.Effect<number> =>
  batchSize === undefined
    ? Effect.succeed(DEFAULT_BATCH_SIZE)
    : Number.isSafeInteger(batchSize) && batchSize > 0
    ? Effect.succeed(batchSize)
    : Effect.dieMessage(`batchSize must be a positive integer, got ${batchSize}`)

const forEachBatch = <R>(
  batchSize: number,
  f: (batch: ReadonlyArray<SealedSecretRecord>) => Effect.Effect<void, never, R>
): Effect.Effect<void, never, SealedSecretStore | R> =>
  Effect.gen(function*() {
    const store = yield* SealedSecretStore
    let afterId: string | null = null
    while (true) {
      const batch: ReadonlyArray<SealedSecretRecord> = yield* store.listBatch({ afterId, limit: batchSize })
      if (batch.length === 0) return
      yield* f(batch)
      if (batch.length < batchSize) return
      const lastId = batch[batch.length - 1]!.id
      if (afterId !== null && lastId <= afterId) {
        return yield* Effect.dieMessage("SealedSecretStore.listBatch must return ids in ascending order after afterId")
      }
      afterId = lastId
    }
  })

/** Counts stored values by the key id in their header, reading headers only. */
export const countByKeyId = (
  options: { readonly batchSize?: number } = {}
): Effect.Effect<KeyUsage, never, SecretSealer | SealedSecretStore> =>
  Effect.gen(function*() {
    const { currentKeyId } = yield* SecretSealer
    const batchSize = yield* checkBatchSize(options.batchSize)
    const byKeyId = new Map<string, number>()
    let total = 0
    let unreadable = 0
    yield* forEachBatch(batchSize, (batch) =>
      Effect.sync(() => {
        for (const record of batch) {
          total++
          const keyId = Envelope.readKeyId(record.sealed)
          if (typeof keyId === "string") {
            byKeyId.set(keyId, (byKeyId.get(keyId) ?? 0) + 1)
          } else {
            unreadable++
          }
        }
      }))
    const onOldKeys = total - (byKeyId.get(currentKeyId) ?? 0) - unreadable
    return { currentKeyId, total, byKeyId: Object.fromEntries(byKeyId), onOldKeys, unreadable }
  }).pipe(Effect.withSpan("Rotation.countByKeyId"))

/**
 * Re-seals every stored value that is not under the current key, batch by batch, with a compare-and-swap per
 * value. Interrupting it is safe and running it again only touches what is still left, so a finished run
 * followed by another is a no-op.
 */
export const rotateSecrets = <R = never>(
  options: RotationOptions<R> = {}
): Effect.Effect<RotationReport, never, SecretSealer | SealedSecretStore | R> =>
  Effect.gen(function*() {
    const sealer = yield* SecretSealer
    const store = yield* SealedSecretStore
    const batchSize = yield* checkBatchSize(options.batchSize)
    const failures: Array<RotationFailure> = []
    let scanned = 0
    let rewrapped = 0
    let skipped = 0
    let conflicts = 0
    let failed = 0
    let lastId: string | null = null
    const progress = (): RotationProgress => ({ scanned, rewrapped, skipped, conflicts, failed, lastId })

    const rotateOne = (record: SealedSecretRecord) =>
      Effect.gen(function*() {
        if (yield* sealer.usesCurrentKey(record.sealed)) {
          skipped++
          return
        }
        const next = yield* sealer.rewrap(record.sealed, record.binding)
        if (yield* store.replace(record.id, record.sealed, next)) {
          rewrapped++
        } else {
          conflicts++
        }
      }).pipe(
        Effect.catchTag("SealedSecretError", (error) =>
          Effect.sync(() => {
            failed++
            if (failures.length < MAX_REPORTED_FAILURES) failures.push({ id: record.id, reason: error.reason })
          }))
      )

    yield* forEachBatch(batchSize, (batch) =>
      Effect.gen(function*() {
        for (const record of batch) {
          yield* rotateOne(record)
          scanned++
          lastId = record.id
        }
        if (options.onProgress !== undefined) yield* options.onProgress(progress())
      }))

    const usage = yield* countByKeyId({ batchSize })
    yield* Effect.annotateCurrentSpan({ scanned, rewrapped, skipped, conflicts, failed })
    return {
      ...progress(),
      currentKeyId: sealer.currentKeyId,
      failures,
      remainingOnOldKeys: usage.onOldKeys,
      usage
    }
  }).pipe(Effect.withSpan("Rotation.rotateSecrets"))
