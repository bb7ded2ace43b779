import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import {
  countByKeyId,
  rotateSecrets,
  type RotationProgress,
  type SealedSecretRecord,
  SealedSecretStore,
  SecretSealer
} from "../src/index.js"
import { cryptoLayer, keys, servicesFor } from "./fixtures.js"
import { makeInMemoryStore, type StoreService } from "./InMemorySealedSecretStore.js"

const oldKeyring = `k1:${keys.k1}`
const rotatedKeyring = `k2:${keys.k2},k1:${keys.k1}`
const newOnlyKeyring = `k2:${keys.k2}`

const plaintextOf = (index: number) => `amp-secret-${index}-${"x".repeat(index % 7)}`
const bindingOf = (index: number) => ({
  workspaceId: `ws-${index % 4}`,
  provider: index % 2 === 0 ? "amplitude" : "amplitude-management",
  slot: index % 3
})

/** `count` records sealed under the old keyring only. */
const seedRecords = (count: number) =>
  Effect.gen(function*() {
    const { sealer } = yield* servicesFor(oldKeyring)
    return yield* Effect.forEach(Array.from({ length: count }, (_, index) => index), (index) =>
      Effect.map(
        sealer.seal(Redacted.make(plaintextOf(index)), bindingOf(index)),
        ({ sealed }): SealedSecretRecord => ({
          id: `secret-${String(index).padStart(3, "0")}`,
          binding: bindingOf(index),
          sealed
        })
      ))
  })

const withStore = (service: StoreService) =>
  Effect.provide(Layer.merge(cryptoLayer(rotatedKeyring), Layer.succeed(SealedSecretStore, service)))

const assertAllOpenWithNewKeyOnly = (rows: ReadonlyMap<string, SealedSecretRecord>) =>
  Effect.gen(function*() {
    const { opener } = yield* servicesFor(newOnlyKeyring)
    for (const [id, record] of rows) {
      const index = Number(id.slice("secret-".length))
      assert.strictEqual(Redacted.value(yield* opener.open(record.sealed, record.binding)), plaintextOf(index))
    }
  })

const snapshot = (rows: ReadonlyMap<string, SealedSecretRecord>) =>
  new Map([...rows].map(([id, record]) => [id, Buffer.from(record.sealed).toString("hex")]))

describe("rotateSecrets", () => {
  it.effect("re-seals everything; afterwards a keyring without the old key opens every value", () =>
    Effect.gen(function*() {
      const store = makeInMemoryStore(yield* seedRecords(25))
      const progress: Array<RotationProgress> = []
      const report = yield* rotateSecrets({
        batchSize: 7,
        onProgress: (p) => Effect.sync(() => progress.push(p))
      }).pipe(withStore(store.service))
      assert.deepStrictEqual(
        { ...report, usage: undefined },
        {
          scanned: 25,
          rewrapped: 25,
          skipped: 0,
          conflicts: 0,
          failed: 0,
          lastId: "secret-024",
          currentKeyId: "k2",
          failures: [],
          remainingOnOldKeys: 0,
          usage: undefined
        }
      )
      assert.deepStrictEqual(report.usage, {
        currentKeyId: "k2",
        total: 25,
        byKeyId: { k2: 25 },
        onOldKeys: 0,
        unreadable: 0
      })
      assert.deepStrictEqual(progress.map((p) => [p.scanned, p.rewrapped, p.lastId]), [
        [7, 7, "secret-006"],
        [14, 14, "secret-013"],
        [21, 21, "secret-020"],
        [25, 25, "secret-024"]
      ])
      yield* assertAllOpenWithNewKeyOnly(store.rows)
    }))

  it.effect("running it again is a no-op", () =>
    Effect.gen(function*() {
      const store = makeInMemoryStore(yield* seedRecords(12))
      yield* rotateSecrets({ batchSize: 5 }).pipe(withStore(store.service))
      const before = snapshot(store.rows)
      const report = yield* rotateSecrets({ batchSize: 5 }).pipe(withStore(store.service))
      assert.deepStrictEqual([report.scanned, report.rewrapped, report.skipped, report.remainingOnOldKeys], [
        12,
        0,
        12,
        0
      ])
      assert.deepStrictEqual(snapshot(store.rows), before)
    }))

  it.effect("an interrupted run can be resumed by running it again", () =>
    Effect.gen(function*() {
      const store = makeInMemoryStore(yield* seedRecords(20))
      const stalled = yield* Deferred.make<void>()
      let replaced = 0
      const stalling: StoreService = {
        listBatch: store.service.listBatch,
        replace: (id, expected, next) =>
          replaced === 8
            ? Deferred.succeed(stalled, undefined).pipe(Effect.zipRight(Effect.never))
            : Effect.tap(store.service.replace(id, expected, next), () => Effect.sync(() => replaced++))
      }
      const fiber = yield* Effect.fork(rotateSecrets({ batchSize: 3 }).pipe(withStore(stalling)))
      yield* Deferred.await(stalled)
      const exit = yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(exit))

      const midway = yield* countByKeyId().pipe(withStore(store.service))
      assert.deepStrictEqual(midway.byKeyId, { k1: 12, k2: 8 })
      assert.strictEqual(midway.onOldKeys, 12)

      const report = yield* rotateSecrets({ batchSize: 3 }).pipe(withStore(store.service))
      assert.deepStrictEqual([report.rewrapped, report.skipped, report.remainingOnOldKeys], [12, 8, 0])
      yield* assertAllOpenWithNewKeyOnly(store.rows)
    }))

  it.effect("a store failure mid-way stops the run; rerunning finishes the job", () =>
    Effect.gen(function*() {
      const store = makeInMemoryStore(yield* seedRecords(10))
      let listed = 0
      const failing: StoreService = {
        listBatch: (options) => ++listed === 3 ? Effect.die("connection lost") : store.service.listBatch(options),
        replace: store.service.replace
      }
      const exit = yield* Effect.exit(rotateSecrets({ batchSize: 4 }).pipe(withStore(failing)))
      assert.isTrue(Exit.isFailure(exit) && !Exit.isInterrupted(exit))
      assert.deepStrictEqual((yield* countByKeyId().pipe(withStore(store.service))).byKeyId, { k1: 2, k2: 8 })
      const report = yield* rotateSecrets({ batchSize: 4 }).pipe(withStore(store.service))
      assert.deepStrictEqual([report.rewrapped, report.skipped, report.remainingOnOldKeys], [2, 8, 0])
      yield* assertAllOpenWithNewKeyOnly(store.rows)
    }))

  it.effect("does not clobber a value changed concurrently", () =>
    Effect.gen(function*() {
      const store = makeInMemoryStore(yield* seedRecords(4))
      const { sealer } = yield* servicesFor(rotatedKeyring)
      const concurrent = yield* sealer.seal(Redacted.make("changed-by-user"), bindingOf(2))
      const racing: StoreService = {
        listBatch: store.service.listBatch,
        replace: (id, expected, next) =>
          Effect.suspend(() => {
            if (id === "secret-002") store.rows.set(id, { ...store.rows.get(id)!, sealed: concurrent.sealed })
            return store.service.replace(id, expected, next)
          })
      }
      const report = yield* rotateSecrets().pipe(withStore(racing))
      assert.deepStrictEqual([report.rewrapped, report.conflicts, report.remainingOnOldKeys], [3, 1, 0])
      assert.strictEqual(store.rows.get("secret-002")!.sealed, concurrent.sealed)
    }))

  it.effect("reports values it cannot re-seal and counts what is left on old keys", () =>
    Effect.gen(function*() {
      const records = yield* seedRecords(3)
      const { sealer: unknownKeySealer } = yield* servicesFor(`k0:${keys.k3}`)
      const unknown = yield* unknownKeySealer.seal(Redacted.make("sealed-with-a-dropped-key"), bindingOf(0))
      const tampered = Uint8Array.from(records[1]!.sealed)
      tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1
      const store = makeInMemoryStore([
        records[0]!,
        { ...records[1]!, sealed: tampered },
        records[2]!,
        { id: "secret-100", binding: bindingOf(0), sealed: unknown.sealed },
        { id: "secret-101", binding: bindingOf(0), sealed: Uint8Array.from([7, 7, 7]) }
      ])
      const report = yield* rotateSecrets().pipe(withStore(store.service))
      assert.deepStrictEqual([report.scanned, report.rewrapped, report.failed], [5, 2, 3])
      assert.deepStrictEqual(report.failures, [
        { id: "secret-001", reason: "AuthenticationFailed" },
        { id: "secret-100", reason: "UnknownKey" },
        { id: "secret-101", reason: "UnsupportedVersion" }
      ])
      assert.strictEqual(report.remainingOnOldKeys, 2)
      assert.deepStrictEqual(report.usage, {
        currentKeyId: "k2",
        total: 5,
        byKeyId: { k0: 1, k1: 1, k2: 2 },
        onOldKeys: 2,
        unreadable: 1
      })
    }))

  it.effect("counts any key id found in a header, __proto__ included", () =>
    Effect.gen(function*() {
      const { sealer } = yield* servicesFor(`__proto__:${keys.k3}`)
      const odd = yield* sealer.seal(Redacted.make("value"), bindingOf(0))
      const store = makeInMemoryStore([...yield* seedRecords(2), {
        id: "secret-100",
        binding: bindingOf(0),
        sealed: odd.sealed
      }])
      const usage = yield* countByKeyId().pipe(withStore(store.service))
      assert.deepStrictEqual(Object.entries(usage.byKeyId), [["k1", 2], ["__proto__", 1]])
      assert.strictEqual(usage.onOldKeys, 3)
    }))

  it.effect("handles an empty store and a store that is an exact multiple of the batch size", () =>
    Effect.gen(function*() {
      const empty = yield* rotateSecrets().pipe(withStore(makeInMemoryStore([]).service))
      assert.deepStrictEqual([empty.scanned, empty.lastId, empty.remainingOnOldKeys], [0, null, 0])
      const store = makeInMemoryStore(yield* seedRecords(6))
      const report = yield* rotateSecrets({ batchSize: 3 }).pipe(withStore(store.service))
      assert.deepStrictEqual([report.scanned, report.rewrapped], [6, 6])
    }))

  it.effect("stops with a defect instead of looping when the store does not page forward", () =>
    Effect.gen(function*() {
      const store = makeInMemoryStore(yield* seedRecords(4))
      const stuck: StoreService = {
        listBatch: ({ limit }) => store.service.listBatch({ afterId: null, limit }),
        replace: store.service.replace
      }
      const exit = yield* Effect.exit(rotateSecrets({ batchSize: 2 }).pipe(withStore(stuck)))
      assert.isTrue(Exit.isFailure(exit) && !Exit.isInterrupted(exit))
    }))

  it.effect("rejects a batch size that is not a positive integer", () =>
    Effect.gen(function*() {
      for (const batchSize of [0, -1, 1.5, Number.NaN]) {
        const exit = yield* Effect.exit(rotateSecrets({ batchSize }).pipe(withStore(makeInMemoryStore([]).service)))
        assert.isTrue(Exit.isFailure(exit))
      }
    }))

  it.effect("the sealer that rotation uses has no way to open a value", () =>
    Effect.gen(function*() {
      const sealer = yield* SecretSealer
      assert.deepStrictEqual(Object.keys(sealer).sort(), [
        "currentKeyId",
        "keyIdOf",
        "rewrap",
        "seal",
        "usesCurrentKey"
      ])
      assert.notProperty(sealer, "open")
    }).pipe(Effect.provide(cryptoLayer(rotatedKeyring))))
})
